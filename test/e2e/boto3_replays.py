"""The boto3 call sequences of programs that drive AWS Batch, replayed against openbatch.

Run by test/e2e/clients.replay.test.ts as `python3 boto3_replays.py <endpoint-url> <queue>`.
Each replay makes the calls its program makes, with the members it sends, and reads the
answers the way it reads them (direct indexing where the program indexes directly), then
prints "<name>: ok". Any failure raises (exit 1). The programs' code is not copied: these
are their calls, written out.
"""
import sys
import time

import boto3

endpoint, queue = sys.argv[1], sys.argv[2]
batch = boto3.client('batch', endpoint_url=endpoint, region_name='us-east-1',
                     aws_access_key_id='test', aws_secret_access_key='test')
logs = boto3.client('logs', endpoint_url=endpoint, region_name='us-east-1',
                    aws_access_key_id='test', aws_secret_access_key='test')


def wait_done(job_id, deadline=120):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        job = batch.describe_jobs(jobs=[job_id])['jobs'][0]
        if job['status'] in ('SUCCEEDED', 'FAILED'):
            return job
        time.sleep(0.2)
    raise AssertionError('job %s did not finish' % job_id)


def metaflow():
    """Metaflow's batch client: find the platform from the queue's first compute environment,
    look the job definition up by name, register one (linuxParameters, propagateTags), submit
    with overrides, tags, parameters, timeout and retries, then read the outcome."""
    q = batch.describe_job_queues(jobQueues=[queue])['jobQueues'][0]
    ce = q['computeEnvironmentOrder'][0]['computeEnvironment']
    platform = batch.describe_compute_environments(computeEnvironments=[ce])['computeEnvironments'][0]['computeResources']['type']
    assert platform in ('EC2', 'SPOT'), platform
    name = 'metaflow_0123456789abcdef'
    found = batch.describe_job_definitions(jobDefinitionName=name, status='ACTIVE')['jobDefinitions']
    assert found == [], found
    arn = batch.register_job_definition(
        jobDefinitionName=name, type='container', propagateTags=True,
        containerProperties={
            'image': 'busybox', 'jobRoleArn': 'arn:aws:iam::123456789012:role/metaflow',
            'command': ['echo', 'hello world'],
            'resourceRequirements': [{'value': '1', 'type': 'VCPU'}, {'value': '4096', 'type': 'MEMORY'}],
            'linuxParameters': {},
        })['jobDefinitionArn']
    assert batch.describe_job_definitions(jobDefinitionName=name, status='ACTIVE')['jobDefinitions'][0]['jobDefinitionArn'] == arn
    job_id = batch.submit_job(
        jobName='metaflow-step', jobQueue=queue, jobDefinition=arn,
        containerOverrides={
            'command': ['sh', '-c', 'echo "step $METAFLOW_STEP"; exit 2'],
            'resourceRequirements': [{'value': '1', 'type': 'VCPU'}, {'value': '512', 'type': 'MEMORY'}],
            'environment': [{'name': 'METAFLOW_STEP', 'value': 'start'}],
        },
        tags={'metaflow.flow_name': 'HelloFlow'}, parameters={'metaflow.run_id': '1'},
        timeout={'attemptDurationSeconds': 3600}, retryStrategy={'attempts': 1})['jobId']
    job = wait_done(job_id)
    assert job['status'] == 'FAILED', job
    assert job['container'].get('reason') is None, job['container']
    assert job['container'].get('exitCode') == 2, job['container']
    assert job['stoppedAt'] > 0 and job['createdAt'] > 0
    assert job['statusReason'] == 'Essential container in task exited', job['statusReason']
    # Tags given at submission are the job's; the definition's propagate with propagateTags.
    assert job['tags']['metaflow.flow_name'] == 'HelloFlow', job['tags']


def airflow():
    """Airflow's BatchOperator and hook: submit with containerOverrides, wait on the
    JobComplete-style waiter (jobs[].status), then find the CloudWatch stream the way the
    hook does (container.logConfiguration, container.logStreamName, attempts) and read it."""
    job_id = batch.submit_job(
        jobName='airflow-task', jobQueue=queue, jobDefinition='replay-def',
        containerOverrides={'command': ['sh', '-c', 'echo from airflow'], 'environment': []},
        arrayProperties={}, parameters={}, tags={})['jobId']
    job = wait_done(job_id)
    assert job['status'] == 'SUCCEEDED', job
    container = job['container']
    log_config = container.get('logConfiguration', {})
    assert log_config.get('logDriver', 'awslogs') == 'awslogs', log_config
    stream = container['logStreamName']
    assert [a['container']['logStreamName'] for a in job['attempts']] == [stream], job['attempts']
    group = log_config.get('options', {}).get('awslogs-group', '/aws/batch/job')
    events = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)['events']
    assert [e['message'] for e in events] == ['from airflow'], events
    # The operator's on_kill: terminate a job that already ended answers 200.
    batch.terminate_job(jobId=job_id, reason='Task killed by the user')


def snakemake():
    """Snakemake's AWS Batch executor: a job definition per rule, jobs submitted with a
    timeout and the rule's resources, polled with describe_jobs, cleaned up with
    deregister_job_definition."""
    jd = batch.register_job_definition(
        jobDefinitionName='snakejob-rule', type='container',
        containerProperties={'image': 'busybox', 'command': ['sh', '-c', 'echo rule'],
                             'resourceRequirements': [{'type': 'VCPU', 'value': '1'}, {'type': 'MEMORY', 'value': '256'}],
                             'privileged': False, 'environment': [], 'mountPoints': [], 'volumes': []},
        timeout={'attemptDurationSeconds': 600}, tags={'snakemake': 'yes'}, platformCapabilities=['EC2'])
    job_id = batch.submit_job(jobName='snakejob-rule-1', jobQueue=queue, jobDefinition=jd['jobDefinitionArn'])['jobId']
    job = wait_done(job_id)
    assert job['status'] == 'SUCCEEDED', job
    assert job['container']['exitCode'] == 0
    batch.deregister_job_definition(jobDefinition=jd['jobDefinitionArn'])
    described = batch.describe_job_definitions(jobDefinitions=[jd['jobDefinitionArn']])['jobDefinitions'][0]
    assert described['status'] == 'INACTIVE', described


def several_containers():
    """Jobs of several containers through boto3 (an AWS Batch user's own script): an EKS pod
    of two containers, and — where this botocore knows ecsProperties (Debian 12's
    predates them) — an ECS task with a sidecar; each submitted with an override by container
    name, its containers' exits read as AWS answers them, its output from the log streams."""
    batch.register_job_definition(
        jobDefinitionName='boto3-pod', type='container',
        eksProperties={'podProperties': {'containers': [
            {'name': 'main', 'image': 'busybox', 'command': ['sh', '-c', 'echo main'],
             'resources': {'limits': {'cpu': '1', 'memory': '256Mi'}}},
            {'name': 'helper', 'image': 'busybox', 'command': ['sh', '-c', 'echo helper']}]}})
    job_id = batch.submit_job(
        jobName='boto3-pod', jobQueue=queue, jobDefinition='boto3-pod',
        # Without a name (as Debian 12's botocore must send it), an override is the container at its index.
        eksPropertiesOverride={'podProperties': {'containers': [
            {'command': ['sh', '-c', 'echo overridden']}]}})['jobId']
    job = wait_done(job_id)
    assert job['status'] == 'SUCCEEDED', job
    assert job['attempts'] == [], job['attempts']
    pod = job['eksProperties']['podProperties']
    assert [(c['name'], c['exitCode']) for c in pod['containers']] == [('main', 0), ('helper', 0)], pod
    attempt = job['eksAttempts'][0]
    assert [c['exitCode'] for c in attempt['containers']] == [0, 0], attempt
    stream = 'boto3-pod/main/' + attempt['podName'][len('aws-batch.'):]
    events = logs.get_log_events(logGroupName='/aws/batch/job', logStreamName=stream, startFromHead=True)['events']
    # The first line may say what the host does not enforce (docs/executors.md): the output follows.
    assert [e['message'] for e in events if not e['message'].startswith('openbatch: not enforced')] == ['overridden'], events

    if 'ecsProperties' not in batch.meta.service_model.operation_model('RegisterJobDefinition').input_shape.members:
        return
    batch.register_job_definition(
        jobDefinitionName='boto3-task', type='container',
        ecsProperties={'taskProperties': [{'containers': [
            {'name': 'main', 'image': 'busybox', 'command': ['sh', '-c', 'echo main']},
            {'name': 'sidecar', 'image': 'busybox', 'essential': False, 'command': ['sh', '-c', 'echo side']},
        ]}]})
    job_id = batch.submit_job(
        jobName='boto3-task', jobQueue=queue, jobDefinition='boto3-task',
        ecsPropertiesOverride={'taskProperties': [{'containers': [
            {'name': 'main', 'command': ['sh', '-c', 'echo overridden']}]}]})['jobId']
    job = wait_done(job_id)
    assert job['status'] == 'SUCCEEDED', job
    assert 'container' not in job, job
    containers = {c['name']: c for c in job['ecsProperties']['taskProperties'][0]['containers']}
    assert containers['main']['exitCode'] == 0, containers
    events = logs.get_log_events(logGroupName='/aws/batch/job', logStreamName=containers['main']['logStreamName'],
                                 startFromHead=True)['events']
    # The first line may say what the host does not enforce (docs/executors.md): the output follows.
    assert [e['message'] for e in events if not e['message'].startswith('openbatch: not enforced')] == ['overridden'], events
    attempt = job['attempts'][0]['taskProperties'][0]['containers']
    assert [c['name'] for c in attempt] == ['main', 'sidecar'], attempt


for replay in (metaflow, airflow, snakemake, several_containers):
    replay()
    print('%s: ok' % replay.__name__)
