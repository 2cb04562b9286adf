// Fetches the Kafka and QuestDB jars from Maven Central with `mvn` on first use and keeps them in a cache
// directory shared by every checkout and test run. A download lands in a scratch directory and is renamed
// into place, complete-marker included, only when `mvn` succeeded, so an interrupted fetch is redone.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive, runCommand, ServicesError } from './process.js';
import {
  KAFKA_SCALA_VERSION,
  KAFKA_VERSION,
  MAVEN_DEPENDENCY_PLUGIN_VERSION,
  QUESTDB_CLIENT_VERSION,
  QUESTDB_VERSION,
  SLF4J_VERSION,
} from './versions.js';

const MARKER = '.complete';

/** Where the service jars are cached: `$ISOSCOPE_CACHE_DIR`, else `$XDG_CACHE_HOME/isoscope`, else `~/.cache/isoscope`. */
export function defaultCacheDir(): string {
  if (process.env.ISOSCOPE_CACHE_DIR) return process.env.ISOSCOPE_CACHE_DIR;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'isoscope');
}

/** Finds `services/maven/<file>` from this module, whether it runs from the sources or from dist/. */
function pomPath(file: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    dir = dirname(dir);
    const candidate = join(dir, 'services', 'maven', file);
    if (existsSync(candidate)) return candidate;
  }
  throw new ServicesError(`cannot find services/maven/${file} above ${fileURLToPath(import.meta.url)}; is the checkout complete?`);
}

interface ArtifactSpec {
  /** Human name for progress lines. */
  title: string;
  version: string;
  /** Cache subdirectory, e.g. `kafka-3.9.2`. */
  dirName: string;
  pom: string;
  properties: Record<string, string>;
}

const KAFKA: ArtifactSpec = {
  title: 'Kafka',
  version: KAFKA_VERSION,
  dirName: `kafka-${KAFKA_VERSION}`,
  pom: 'pom.xml',
  properties: { 'kafka.version': KAFKA_VERSION, 'scala.binary.version': KAFKA_SCALA_VERSION, 'slf4j.version': SLF4J_VERSION },
};

const QUESTDB: ArtifactSpec = {
  title: 'QuestDB',
  version: QUESTDB_VERSION,
  dirName: `questdb-${QUESTDB_VERSION}`,
  pom: 'questdb.pom.xml',
  properties: { 'questdb.version': QUESTDB_VERSION },
};

const QUESTDB_CLIENT: ArtifactSpec = {
  title: 'QuestDB Java client',
  version: QUESTDB_CLIENT_VERSION,
  dirName: `questdb-client-${QUESTDB_CLIENT_VERSION}`,
  pom: 'questdb-client.pom.xml',
  properties: { 'questdb.client.version': QUESTDB_CLIENT_VERSION },
};

/** The directory with QuestDB's Java ILP client jar(s), fetched on first use (bench/peer only). */
export function ensureQuestDbClient(cacheDir: string = defaultCacheDir(), log: (line: string) => void = () => {}): Promise<string> {
  return ensureArtifact(QUESTDB_CLIENT, cacheDir, log);
}

function dirSize(dir: string): { files: number; bytes: number } {
  const names = readdirSync(dir).filter((n) => n.endsWith('.jar'));
  return { files: names.length, bytes: names.reduce((sum, n) => sum + statSync(join(dir, n)).size, 0) };
}

const stripAnsi = (text: string): string => text.replace(/\u001b\[[0-9;]*m/g, '');

/** Deletes scratch directories of fetches whose process is gone (interrupted, e.g. by Ctrl-C). */
async function removeAbandonedScratch(cacheDir: string, dirName: string): Promise<void> {
  const prefix = `.${dirName}.partial-`;
  for (const name of readdirSync(cacheDir)) {
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (name.startsWith(prefix) && !isAlive(pid)) await rm(join(cacheDir, name), { recursive: true, force: true });
  }
}

/** Runs `mvn … copy-dependencies` for one artifact set into `<cache>/<dirName>/lib`, unless already there. */
async function ensureArtifact(spec: ArtifactSpec, cacheDir: string, log: (line: string) => void): Promise<string> {
  const finalDir = join(cacheDir, spec.dirName);
  const libDir = join(finalDir, 'lib');
  if (existsSync(join(finalDir, MARKER))) return libDir;

  log(`fetching ${spec.title} ${spec.version} from Maven Central (first use)…`);
  const started = Date.now();
  await mkdir(cacheDir, { recursive: true });
  await removeAbandonedScratch(cacheDir, spec.dirName);
  const scratch = join(cacheDir, `.${spec.dirName}.partial-${process.pid}-${Date.now()}`);
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true });
  try {
    const args = [
      '-B',
      '-ntp',
      '-Dstyle.color=never',
      '-f',
      pomPath(spec.pom),
      `org.apache.maven.plugins:maven-dependency-plugin:${MAVEN_DEPENDENCY_PLUGIN_VERSION}:copy-dependencies`,
      `-DoutputDirectory=${join(scratch, 'lib')}`,
      '-DincludeScope=runtime',
      ...Object.entries(spec.properties).map(([k, v]) => `-D${k}=${v}`),
    ];
    const res = await runCommand('mvn', args, { cwd: scratch, timeoutMs: 15 * 60_000 });
    await writeFile(join(scratch, 'mvn.log'), res.output);
    if (res.notFound) {
      throw new ServicesError(
        `no \`mvn\` (Apache Maven) on PATH: it is needed once to fetch ${spec.title} ${spec.version} into ${cacheDir}; ` +
          'install it, e.g. `apt-get install maven`, or copy a filled cache directory there (see services/README.md)',
      );
    }
    if (res.code !== 0 || !existsSync(join(scratch, 'lib'))) {
      const tail = stripAnsi(res.output).trimEnd().split('\n').slice(-20).join('\n');
      throw new ServicesError(
        `fetching ${spec.title} ${spec.version} with mvn failed (exit ${res.code}). Last lines of its output:\n${tail}\n` +
          'Check network access to Maven Central (https://repo.maven.apache.org) and the proxy/mirror settings in ~/.m2/settings.xml.',
      );
    }
    await writeFile(join(scratch, MARKER), `${spec.title} ${spec.version} fetched ${new Date().toISOString()}\n`);
    await rm(finalDir, { recursive: true, force: true }); // an earlier, incomplete attempt
    try {
      await rename(scratch, finalDir);
    } catch (err) {
      // Another process finished the same fetch first: use theirs.
      if (!existsSync(join(finalDir, MARKER))) throw err;
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  const { files, bytes } = dirSize(libDir);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  log(`fetched ${spec.title} ${spec.version} (${files} jars, ${Math.round(bytes / 1e6)} MB) into ${finalDir} in ${seconds} s`);
  return libDir;
}

/** Paths of the fetched artifacts. */
export interface ServiceArtifacts {
  /** Directory with every Kafka jar, for `java -cp '<dir>/*'`. */
  kafkaLibDir: string;
  /** The QuestDB jar, for `java -p <jar> -m io.questdb/io.questdb.ServerMain`. */
  questdbJar: string;
}

/**
 * Makes sure the pinned Kafka and QuestDB jars are in `cacheDir`, fetching them with `mvn` on first use
 * (one after the other: Maven's local repository is not safe for concurrent writers). Progress goes to `log`.
 * @default cacheDir defaultCacheDir()
 */
export async function ensureArtifacts(
  cacheDir: string = defaultCacheDir(),
  log: (line: string) => void = () => {},
): Promise<ServiceArtifacts> {
  const kafkaLibDir = await ensureArtifact(KAFKA, cacheDir, log);
  const questdbLib = await ensureArtifact(QUESTDB, cacheDir, log);
  const questdbJar = join(questdbLib, `questdb-${QUESTDB_VERSION}.jar`);
  if (!existsSync(questdbJar)) {
    throw new ServicesError(`${questdbJar} is missing although ${dirname(questdbLib)} is marked complete; delete that directory and retry`);
  }
  return { kafkaLibDir, questdbJar };
}
