/** A configuration problem the user must fix: reported as a message, without a stack trace. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}
