import { Cause } from "effect"

/**
 * What the CLI prints for a failure that is not one of the job's errors (a bug): the error's message and
 * how to report it; the stack trace only with `TYPEGRAD_DEBUG=1`.
 */
export const defectMessage = (cause: Cause.Cause<unknown>, debug: boolean): string => {
  const e = Cause.squash(cause)
  const text = e instanceof Error ? e.message : String(e)
  return `typegrad: unexpected error: ${text}\n` +
    (debug
      ? `${Cause.pretty(cause)}\n`
      : "this is a bug in typegrad: please report it with the output of the same command run with TYPEGRAD_DEBUG=1\n")
}
