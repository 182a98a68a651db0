/** A mistake the user can fix; printed as `openbatch: <message>` with a non-zero exit. */
export class CliError extends Error {}
