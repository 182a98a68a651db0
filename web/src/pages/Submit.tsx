import { activeDefinitions, allQueues } from '../api';
import { ErrorNote, Section, useLoad } from '../components/common';
import { draftOfDefinition, SubmitForm } from '../components/SubmitForm';
import type { Route } from '../route';

/**
 * Submit a job from a job definition (#/submit?definition=name[:revision]&queue=…): the ACTIVE
 * definitions and the queues to choose from, the definition's parameters shown with their
 * defaults, overrides optional. Confirmed and behind the session's write grant, as every action.
 */
export function Submit({ route }: { route: Route }) {
  const { data, error } = useLoad(async () => {
    const [definitions, queues] = await Promise.all([activeDefinitions(), allQueues()]);
    return { definitions, queues };
  }, []);
  if (!data) return error ? <ErrorNote error={error} /> : <p className="muted">Loading…</p>;
  if (!data.definitions.length || !data.queues.length) {
    return (
      <Section title="Submit a job">
        <p className="muted">There is {data.queues.length ? 'no job definition' : 'no job queue'} yet: `openbatch init` makes a default one of each.</p>
      </Section>
    );
  }
  const wanted = route.params.definition;
  const definition = data.definitions.find((d) => wanted && (d.jobDefinitionName === wanted || `${d.jobDefinitionName}:${d.revision}` === wanted)) ?? data.definitions[0];
  const queue = data.queues.find((q) => q.jobQueueName === route.params.queue) ?? data.queues.find((q) => q.state === 'ENABLED') ?? data.queues[0];
  return (
    <Section title="Submit a job">
      <SubmitForm
        key={`${definition.jobDefinitionArn} ${queue.jobQueueName}`}
        initial={draftOfDefinition(definition, queue.jobQueueName)}
        queues={data.queues}
        definitions={data.definitions}
        label="Submit a job"
        testId="submit"
        open
      />
    </Section>
  );
}
