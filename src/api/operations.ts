/**
 * The table of AWS Batch operations, read from the SDK's operation schemas
 * (`[9, namespace, name, {http: [method, path, code]}, input, output]`). Every operation the
 * model has is routed, so none can answer 404; those openbatch cannot have answer a
 * ClientException saying so.
 */
import * as batchSdk from '@aws-sdk/client-batch';

export interface OperationInfo {
  name: string;
  method: string;
  /** path with `{label}` placeholders, as in the model */
  path: string;
  input: unknown;
  output: unknown;
}

export function batchOperations(): OperationInfo[] {
  const out: OperationInfo[] = [];
  for (const [key, value] of Object.entries(batchSdk)) {
    if (!key.endsWith('$') || !Array.isArray(value) || value[0] !== 9) continue;
    const traits = value[3] as { http?: [string, string, number] };
    if (!traits?.http) continue;
    out.push({ name: String(value[2]), method: traits.http[0], path: traits.http[1], input: value[4], output: value[5] });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
