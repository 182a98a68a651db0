"""Runs AWS Batch calls through boto3 and prints their answers as JSON.

Run by the end-to-end tests as `python3 boto3_calls.py <endpoint-url>` with a JSON list of
{"operation": "DescribeJobs", "input": {...}} on standard input; prints a JSON list with, for
each call, the answer (without ResponseMetadata) or {"unknownOperation": name} when this
boto3 predates the operation. Any other error ends the script with it (exit 1).
"""
import json
import re
import sys

import boto3

endpoint = sys.argv[1]
batch = boto3.client('batch', endpoint_url=endpoint, region_name='us-east-1',
                     aws_access_key_id='test', aws_secret_access_key='test')


def method(operation):
    return re.sub(r'(?<!^)(?=[A-Z])', '_', operation).lower()


answers = []
for call in json.load(sys.stdin):
    name = method(call['operation'])
    if not hasattr(batch, name):
        answers.append({'unknownOperation': call['operation']})
        continue
    answer = getattr(batch, name)(**call['input'])
    answer.pop('ResponseMetadata', None)
    answers.append(answer)
print(json.dumps(answers, default=str))
