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


for replay in (metaflow, airflow, snakemake):
    replay()
    print('%s: ok' % replay.__name__)
