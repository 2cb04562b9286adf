// The one place where the versions of the development/test services are pinned. services/maven.ts passes
// them to the poms in services/maven/ as -D properties, and the cache directories are named after them,
// so changing a number here is all it takes to move to another release.

/** Apache Kafka release (the `kafka_<scala>` artifact on Maven Central). @default '3.9.2' */
export const KAFKA_VERSION = '3.9.2';

/** Scala binary version of the Kafka artifact (`kafka_2.13`). @default '2.13' */
export const KAFKA_SCALA_VERSION = '2.13';

/** slf4j-simple version, matching the slf4j-api that Kafka depends on; Kafka logs through it to stderr. */
export const SLF4J_VERSION = '1.7.36';

/** QuestDB release (`org.questdb:questdb`, one jar with its native libraries inside). @default '9.3.4' */
export const QUESTDB_VERSION = '9.3.4';

/** QuestDB's Java ILP client (`org.questdb:questdb-client`), for the JVM peer of bench/ingest-drain only. */
export const QUESTDB_CLIENT_VERSION = '1.0.1';

/** maven-dependency-plugin used to copy the jars, pinned so Maven does not look up the latest. */
export const MAVEN_DEPENDENCY_PLUGIN_VERSION = '3.8.1';

/** Oldest Java major version that runs both services (Kafka 3.9 and QuestDB 9 both need 17). */
export const MIN_JAVA_MAJOR = 17;
