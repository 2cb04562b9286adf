#!/usr/bin/env bash
# Creates the secrets of the compose stack once, with random values: secrets/<name> files (Docker
# secrets, read by isoscope through *_FILE variables and by Grafana through __FILE) and .env (for
# QuestDB and Grafana's datasource provisioning, which read only environment variables). Existing
# values are kept, so running it again changes nothing; delete a file to renew that secret.
#
# Usage: docker/secrets.sh    (from anywhere; writes next to compose.yaml)
set -euo pipefail
cd "$(dirname "$0")"
umask 077

random() { head -c 32 /dev/urandom | base64 | tr -d '/+=\n' | head -c 40; }

mkdir -p secrets
chmod 700 secrets
for name in questdb_password questdb_readonly_password query_token webhook_secret grafana_admin_password; do
  if [ ! -s "secrets/$name" ]; then
    random > "secrets/$name"
    echo "secrets.sh: created secrets/$name"
  fi
  # Readable inside the containers, whose users differ from yours; the directory (700) keeps other
  # users of this host out.
  chmod 444 "secrets/$name"
done

# A KRaft cluster id is 16 random bytes in base64url without padding (22 characters), and must not
# start with '-' (Kafka's storage tool would take it for an option).
cluster_id() {
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    [ "${id#-}" = "$id" ] && { echo "$id"; return; }
  done
}

if [ ! -s .env ]; then
  {
    echo "# Written by secrets.sh; values shared with secrets/ where both are needed. Keep it private."
    echo "QUESTDB_PASSWORD=$(cat secrets/questdb_password)"
    echo "QUESTDB_READONLY_PASSWORD=$(cat secrets/questdb_readonly_password)"
    echo "QUERY_TOKEN=$(cat secrets/query_token)"
    echo "KAFKA_CLUSTER_ID=$(cluster_id)"
    echo "# The address collectors on the testbed nodes use for Kafka (the EXTERNAL listener, port 9094)."
    echo "KAFKA_EXTERNAL_HOST=$(hostname -f 2>/dev/null || hostname)"
    echo "# Base URL of the query API in alert links."
    echo "ISOSCOPE_PUBLIC_QUERY_URL=http://$(hostname -f 2>/dev/null || hostname):7410"
  } > .env
  chmod 600 .env
  echo "secrets.sh: created .env"
fi
echo "secrets.sh: secrets in $(pwd)/secrets and $(pwd)/.env"
