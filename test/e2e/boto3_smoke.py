"""boto3 against openbatch: the calls a Python user makes first.

Run by test/e2e/clients.test.ts as `python3 boto3_smoke.py <endpoint-url>`; prints
"boto3 smoke: ok" and exits 0 when every check holds, raises (exit 1) at the first that fails.
"""
import sys
import time

import boto3
from botocore.exceptions import ClientError

endpoint = sys.argv[1]
session = dict(endpoint_url=endpoint, region_name='us-east-1',
               aws_access_key_id='test', aws_secret_access_key='test')
batch = boto3.client('batch', **session)
logs = boto3.client('logs', **session)

ce = batch.create_compute_environment(
    computeEnvironmentName='py-ce', type='MANAGED',
    computeResources={'type': 'EC2', 'minvCpus': 0, 'maxvCpus': 2, 'instanceTypes': ['optimal'],
                      'subnets': ['subnet-1'], 'instanceRole': 'ecsInstanceRole'})
assert ce['computeEnvironmentArn'].endswith(':compute-environment/py-ce'), ce

queue = batch.create_job_queue(jobQueueName='py-q', priority=1,
                               computeEnvironmentOrder=[{'order': 1, 'computeEnvironment': 'py-ce'}])
assert queue['jobQueueArn'].endswith(':job-queue/py-q'), queue

definition = batch.register_job_definition(
    jobDefinitionName='py-def', type='container',
    containerProperties={'image': 'busybox', 'command': ['sh', '-c', 'echo "from python $AWS_BATCH_JQ_NAME"'],
                         'resourceRequirements': [{'type': 'VCPU', 'value': '1'},
                                                  {'type': 'MEMORY', 'value': '256'}]})
assert definition['revision'] == 1, definition

job_id = batch.submit_job(jobName='py-job', jobQueue='py-q', jobDefinition='py-def')['jobId']

deadline = time.monotonic() + 60
while True:
    job = batch.describe_jobs(jobs=[job_id])['jobs'][0]
    if job['status'] in ('SUCCEEDED', 'FAILED'):
        break
    assert time.monotonic() < deadline, f"job {job_id} still {job['status']} after 60 s"
    time.sleep(0.2)
assert job['status'] == 'SUCCEEDED', job
assert job['container']['exitCode'] == 0, job

stream = job['container']['logStreamName']
events = logs.get_log_events(logGroupName='/aws/batch/job', logStreamName=stream, startFromHead=True)['events']
assert [e['message'] for e in events] == ['from python py-q'], events

listed = batch.list_jobs(jobQueue='py-q', jobStatus='SUCCEEDED')['jobSummaryList']
assert [j['jobId'] for j in listed] == [job_id], listed

try:
    batch.submit_job(jobName='py-job', jobQueue='no-such-queue', jobDefinition='py-def')
    raise AssertionError('SubmitJob to an unknown queue succeeded')
except ClientError as e:
    error = e.response['Error']
    assert error['Code'] == 'ClientException', error
    assert 'no-such-queue' in error['Message'], error

print('boto3 smoke: ok')
