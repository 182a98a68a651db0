/**
 * RegisterJobDefinition and DeregisterJobDefinition with the AWS SDK's own request and
 * response types. The request's shape was checked before (api/validate/jobDefinitions.ts).
 */
import type {
  DeregisterJobDefinitionRequest,
  DeregisterJobDefinitionResponse,
  RegisterJobDefinitionRequest,
  RegisterJobDefinitionResponse,
} from '@aws-sdk/client-batch';
import { checkHostAccess } from '../compute/hostAccess.js';
import type { Core } from '../core.js';
import { makeArn, parseArn, type ArnScope } from '../model/arn.js';
import { Invalid } from '../model/errors.js';
import { insertJobDefinition, nextRevision, setJobDefinitionStatus } from '../store/jobDefinitions.js';
import { lookupsChanged } from '../store/lookupCache.js';
import { findJobDefinition } from './resolve.js';

export async function registerJobDefinition(s: Core, scope: ArnScope, input: RegisterJobDefinitionRequest): Promise<RegisterJobDefinitionResponse> {
  const { jobDefinitionName, type, tags, ...spec } = input;
  const name = jobDefinitionName!;
  // Host paths and privilege are the operator's to grant (compute/hostAccess.ts).
  checkHostAccess(spec, s.config);
  // Revision numbers are taken inside the write transaction so two registrations never share one.
  const out = await s.uow.write(async (tx) => {
    const revision = await nextRevision(tx.db, name);
    const arn = makeArn(scope, 'job-definition', `${name}:${revision}`);
    await insertJobDefinition(tx.db, { arn, name, revision, status: 'ACTIVE', type: type!, spec, tags: tags ?? {}, created_at: s.clock.now() });
    return { jobDefinitionName: name, jobDefinitionArn: arn, revision };
  });
  // Once more after the commit: a cached lookup read before it holds the previous latest revision.
  lookupsChanged();
  return out;
}

/** Deregistering names one revision; its jobs keep running, and SubmitJob refuses it from now on. */
export async function deregisterJobDefinition(s: Core, input: DeregisterJobDefinitionRequest): Promise<DeregisterJobDefinitionResponse> {
  const ref = input.jobDefinition!;
  const nameRev = ref.startsWith('arn:') ? (parseArn(ref)?.resource ?? '') : ref;
  if (!/^[A-Za-z0-9_-]+:\d+$/.test(nameRev)) {
    throw new Invalid(`jobDefinition '${ref}' must name a revision: use name:revision or the full job definition ARN`);
  }
  const row = await findJobDefinition(s.db, ref, 'jobDefinition', false);
  await setJobDefinitionStatus(s.db, row.arn, 'INACTIVE');
  return {};
}
