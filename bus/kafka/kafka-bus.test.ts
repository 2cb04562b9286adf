/** The Kafka bus passes the shared Bus conformance suite against the real broker of the test run. */
import { busConformance } from '../bus.case.js';
import { testServices } from '../../test/services.js';
import { KafkaBus } from './kafka-bus.js';

busConformance('kafka bus (conformance, real broker)', async () => ({
  bus: new KafkaBus({ brokers: testServices().kafka.brokers, partitions: 1 }),
  cleanup: async () => {},
}));
