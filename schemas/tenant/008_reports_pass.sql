-- Tenant template, version 8: what the reports' pass over the status history reads (every
-- change of every candidate, in candidate and change order) held in one index, so that scan
-- reads the index alone and never a table page or a sort.
CREATE INDEX status_history_pass_idx ON status_history (candidate_id, id)
    INCLUDE (at, to_status, measure);
