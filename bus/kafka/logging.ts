/** Routes kafkajs' own log lines into our logger (kafkajs prints to the console by default). */
import { logLevel, type logCreator } from 'kafkajs';
import { componentLogger } from '../../core/logger.js';

export const KAFKAJS_LOG_LEVEL = logLevel.WARN;

export const kafkaLogCreator: logCreator = () => {
  const log = componentLogger('kafkajs');
  return ({ level, log: entry }) => {
    const { message, ...rest } = entry;
    // "Response …" lines are protocol errors kafkajs retries itself (e.g. the group coordinator
    // not being ready yet after a broker start); a final failure still surfaces as a thrown error.
    if (message.startsWith('Response ')) log.debug(rest, message);
    // kafkajs warns whenever an idempotent producer has bounded retries, because a send that finally
    // failed and is followed by *different* messages could reuse its sequence number. Every producer
    // here resends exactly the failed messages until they are taken (spool head, send queue head), and
    // bounded retries are what lets a send fail while Kafka is away, so the spool and a 5 s shutdown
    // work; see docs/DECISIONS.md. Not a warning then, and not printed at every start.
    else if (message.startsWith('Limiting retries for the idempotent producer')) log.debug(rest, message);
    else if (message.startsWith('Connection error') || message.startsWith('Failed to connect to seed broker')) log.warn(rest, message); // a broker away: the callers retry and report
    else if (message === 'Error when calling eachBatch') log.warn(rest, message); // our handler's error: surfaced by stopped()
    else if (level === logLevel.ERROR) log.error(rest, message);
    else if (level === logLevel.WARN) log.warn(rest, message);
    else if (level === logLevel.INFO) log.info(rest, message);
    else log.debug(rest, message);
  };
};
