/**
 * Bad input from the user (an unknown strategy name, a path that holds no strategy, a strategy
 * object of the wrong shape). The message is one line; a command-line front end prints it and
 * exits with status 2, without a stack trace.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
