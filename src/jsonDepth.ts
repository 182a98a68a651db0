/**
 * How deep a request body's JSON may nest. Nothing openbatch takes nests more than about a
 * dozen levels (a job definition's EKS containers are the deepest); a body nested thousands
 * deep parses, but whatever walks it afterwards — validation, an error message quoting it,
 * a log line — runs out of stack, which would answer 500. Every JSON request body (the AWS
 * APIs, CloudWatch Logs, openbatch's operations, the dashboard's, the agent protocol) is
 * parsed through parseBoundedJson, which checks it first.
 */
export const MAX_JSON_DEPTH = 64;

/** Whether `text` nests arrays and objects deeper than `max` (strings are skipped; malformed text is left to JSON.parse). */
export function nestsDeeperThan(text: string, max = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** The message of the refusal, for each API's own error shape. */
export const TOO_DEEP = `the request body nests deeper than ${MAX_JSON_DEPTH} levels of arrays and objects`;

/**
 * A JSON request body, parsed once it is known not to nest too deep: every API parses its
 * bodies here, each refusing in its own error shape (`refuse`) with its own words for text
 * that is not JSON (`invalid`).
 */
export function parseBoundedJson(text: string, refuse: (message: string) => Error, invalid: string | ((e: Error) => string)): unknown {
  if (nestsDeeperThan(text)) throw refuse(TOO_DEEP);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw refuse(typeof invalid === 'string' ? invalid : invalid(e as Error));
  }
}
