// Norwegian names of the API's values, for what coordinators read. The values themselves come
// from the API; these are only their names.

export const STATUS = {
  henvist: "Henvist",
  tilnaerming: "Tilnærming",
  kartlagt: "Kartlagt",
  arbeidstrening: "Arbeidstrening",
  utproving: "Utprøving",
  i_tiltak: "I tiltak",
  avsluttet: "Avsluttet",
  venter: "Venter",
};
export const MEASURE = {
  vta: "VTA",
  vta_o: "VTA-O",
  vto: "VTO",
  ordinaert_arbeid: "Ordinært arbeid",
  aktivitet: "Aktivitet",
};
export const INCOME = {
  uforetrygd: "Uføretrygd",
  aap: "AAP",
  sosialhjelp: "Sosialhjelp",
  arbeid: "Arbeid",
  ingen: "Ingen",
  annet: "Annet",
};
export const SCOPE = {
  share_nav: "Dele med NAV",
  share_employer: "Dele med arbeidsgiver",
  share_volunteer: "Dele med frivillig organisasjon",
  contact_relatives: "Kontakte pårørende",
};
export const METHOD = { skriftlig: "Skriftlig", muntlig: "Muntlig" };
export const JOURNAL = {
  samtale: "Samtale",
  mote: "Møte",
  telefon: "Telefon",
  oppfolging: "Oppfølging",
  evaluering: "Evaluering",
  hospitering: "Hospitering",
  notat: "Notat",
  annet: "Annet",
};
export const ORG_KIND = {
  employer: "Arbeidsgiver",
  nav_office: "NAV-kontor",
  labour_market_company: "Arbeidsmarkedsbedrift",
  volunteer: "Frivillig organisasjon",
  municipal_unit: "Kommunal enhet",
  school: "Skole",
  other: "Annet",
};
export const OPENING_KIND = {
  work_trial: "Arbeidstrening",
  vta: "VTA",
  vta_o: "VTA-O",
  vto: "VTO",
  ordinary_job: "Ordinær jobb",
  activity: "Aktivitet",
  volunteer_role: "Frivillig oppgave",
};
export const MATCH = {
  proposed: "Foreslått",
  presented: "Presentert",
  interested: "Interessert",
  meeting: "Møte avtalt",
  nav_involved: "NAV involvert",
  trial: "Utprøving",
  placed: "Plassert",
  declined: "Avslått",
  withdrawn: "Trukket",
};
export const ROLE = {
  platform_admin: "Plattformadministrator",
  tenant_admin: "Administrator",
  coordinator: "Koordinator",
  partner: "Samarbeidspartner",
  reader: "Leser",
};

export const name = (table, value) => (value ? table[value] || value : "");
