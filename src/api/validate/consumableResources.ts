/**
 * Semantic rules of the consumable resource operations, and of the
 * `consumableResourceProperties` that job definitions and submissions carry.
 *
 * A consumable resource is a named counted pool (licenses, tokens); a job names the pools it
 * needs and how many units of each, and starts only when they are free.
 */
import {
  JobStatus,
  type ConsumableResourceProperties,
  type CreateConsumableResourceCommandInput,
  type DeleteConsumableResourceCommandInput,
  type DescribeConsumableResourceCommandInput,
  type ListConsumableResourcesCommandInput,
  type ListJobsByConsumableResourceCommandInput,
  type UpdateConsumableResourceCommandInput,
} from '@aws-sdk/client-batch';
import { clientError } from '../../model/errors.js';
import { validatePage } from './pagination.js';
import {
  enumOf,
  filterList,
  intRange,
  nameOrArn,
  present,
  requireMember,
  resourceName,
  stringLength,
  tagMap,
  unique,
  type EnumLike,
  type Maybe,
} from './rules.js';

// The model types these members as free strings and documents their values in prose, so the
// SDK has no enum objects for them.
const RESOURCE_TYPES = ['REPLENISHABLE', 'NON_REPLENISHABLE'] as const;
const UPDATE_OPERATIONS = ['SET', 'ADD', 'REMOVE'] as const;
const RESOURCE_FILTERS = ['CONSUMABLE_RESOURCE_NAME'] as const;
const JOB_FILTERS = ['JOB_STATUS', 'JOB_NAME'] as const;

/** The values a filter takes, where they are an enum. */
const JOB_FILTER_VALUES: Readonly<Record<string, EnumLike>> = { JOB_STATUS: JobStatus };

/**
 * `consumableResourceProperties` of a job definition, node range or submission: each entry
 * names a resource (name or ARN) once and needs at least one unit of it.
 */
export function checkConsumableResourceProperties(path: string, props: Maybe<ConsumableResourceProperties>): void {
  const list = props?.consumableResourceList;
  const listPath = `${path}.consumableResourceList`;
  list?.forEach((entry, i) => {
    requireMember(`${listPath}[${i}].consumableResource`, entry.consumableResource, 'is required: the name or ARN of the resource');
    nameOrArn(`${listPath}[${i}].consumableResource`, entry.consumableResource);
    requireMember(`${listPath}[${i}].quantity`, entry.quantity, 'is required: how many units the job needs');
    intRange(`${listPath}[${i}].quantity`, entry.quantity, { min: 1 });
  });
  unique(listPath, list, (e) => e.consumableResource, 'consumableResource');
}

/** CreateConsumableResource: name, a non-negative whole totalQuantity, resource type, tags. */
export function validateCreateConsumableResource(input: CreateConsumableResourceCommandInput): void {
  resourceName('consumableResourceName', input.consumableResourceName);
  intRange('totalQuantity', input.totalQuantity, { min: 0 });
  enumOf('resourceType', input.resourceType, RESOURCE_TYPES);
  tagMap('tags', input.tags);
}

/** UpdateConsumableResource: `operation` and `quantity` come together; quantity non-negative. */
export function validateUpdateConsumableResource(input: UpdateConsumableResourceCommandInput): void {
  nameOrArn('consumableResource', input.consumableResource);
  enumOf('operation', input.operation, UPDATE_OPERATIONS);
  intRange('quantity', input.quantity, { min: 0 });
  // Without the operation a quantity could be a new total or a change; without the quantity
  // an operation has nothing to apply.
  if (present(input.operation) !== present(input.quantity))
    throw clientError(
      present(input.quantity)
        ? `operation is required with quantity: use ${UPDATE_OPERATIONS.join(', ')}`
        : 'quantity is required with operation',
    );
  stringLength('clientToken', input.clientToken, { min: 1, max: 64 });
}

/** DeleteConsumableResource: a name or ARN. */
export function validateDeleteConsumableResource(input: DeleteConsumableResourceCommandInput): void {
  nameOrArn('consumableResource', input.consumableResource);
}

/** DescribeConsumableResource: a name or ARN. */
export function validateDescribeConsumableResource(input: DescribeConsumableResourceCommandInput): void {
  nameOrArn('consumableResource', input.consumableResource);
}

/** ListConsumableResources: CONSUMABLE_RESOURCE_NAME filters, page size 1-100. */
export function validateListConsumableResources(input: ListConsumableResourcesCommandInput): void {
  filterList('filters', input.filters, RESOURCE_FILTERS);
  validatePage(input);
}

/** ListJobsByConsumableResource: a name or ARN, JOB_STATUS / JOB_NAME filters, page size 1-100. */
export function validateListJobsByConsumableResource(input: ListJobsByConsumableResourceCommandInput): void {
  nameOrArn('consumableResource', input.consumableResource);
  filterList('filters', input.filters, JOB_FILTERS, JOB_FILTER_VALUES);
  validatePage(input);
}
