/* Platform jobs: tenants, API keys and key resolution for the gateway. They run in the
 * platform transaction, not in a tenant's. */
#ifndef BRO_WORKER_PLATFORM_H
#define BRO_WORKER_PLATFORM_H

#include "job.h"

int bro_platform_auth_resolve(bro_job *job);
int bro_platform_tenant_create(bro_job *job);
int bro_platform_tenant_list(bro_job *job);
int bro_platform_key_issue(bro_job *job);
int bro_platform_key_revoke(bro_job *job);

#endif
