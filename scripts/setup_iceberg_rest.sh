#!/usr/bin/env bash
# Installs Apache Iceberg's REST catalog test server (RESTCatalogServer from the
# iceberg-open-api test-fixtures jar, over a JDBC catalog on SQLite and a local warehouse) with its
# runtime jars from Maven Central into DIR/lib (default .deps/iceberg-rest), idempotently: when the
# jars are there already it only checks (exit 0). Exit 10: installed now. Called by
# scripts/setup.sh; needs mvn and a JDK/JRE 17. Maven Central has no iceberg-open-api-test-fixtures-
# runtime (the shaded jar of the Docker image) for 1.10.x, so the pom lists what RESTCatalogServer
# needs: iceberg-core (and its tests jar: RESTCatalogServlet, RESTCatalogAdapter), Hadoop's client
# (Configuration, HadoopFileIO), Jetty 11, sqlite-jdbc and an slf4j binding.
# Usage: scripts/setup_iceberg_rest.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-$PWD/.deps/iceberg-rest}
ICEBERG_VERSION=1.10.1
want=("iceberg-open-api-$ICEBERG_VERSION-test-fixtures.jar" "iceberg-core-$ICEBERG_VERSION-tests.jar"
  "iceberg-core-$ICEBERG_VERSION.jar" "sqlite-jdbc-3.49.1.0.jar" "jetty-servlet-11.0.25.jar"
  "hadoop-client-runtime-3.4.1.jar")
have_all=1
for j in "${want[@]}"; do [ -f "$DIR/lib/$j" ] || have_all=0; done
[ $have_all = 1 ] && exit 0

command -v mvn >/dev/null || { echo "[setup] mvn not found (apt-get install maven)" >&2; exit 1; }
mkdir -p "$DIR"
dep() {
  printf '    <dependency><groupId>%s</groupId><artifactId>%s</artifactId><version>%s</version>%s</dependency>\n' \
    "$1" "$2" "$3" "${4:+<classifier>$4</classifier>}"
}
{
  echo '<project><modelVersion>4.0.0</modelVersion>'
  echo '  <groupId>tributary</groupId><artifactId>iceberg-rest-catalog</artifactId><version>1</version>'
  echo '  <packaging>pom</packaging>'
  echo '  <dependencies>'
  dep org.apache.iceberg iceberg-open-api "$ICEBERG_VERSION" test-fixtures
  dep org.apache.iceberg iceberg-core "$ICEBERG_VERSION"
  dep org.apache.iceberg iceberg-core "$ICEBERG_VERSION" tests
  dep org.apache.hadoop hadoop-client-api 3.4.1
  dep org.apache.hadoop hadoop-client-runtime 3.4.1
  dep org.eclipse.jetty jetty-servlet 11.0.25
  dep org.xerial sqlite-jdbc 3.49.1.0
  dep org.slf4j slf4j-simple 2.0.17
  echo '  </dependencies>'
  echo '</project>'
} > "$DIR/pom.xml"
echo "[setup] mvn dependency:copy-dependencies (Iceberg REST catalog $ICEBERG_VERSION) into $DIR/lib"
rm -rf "$DIR/lib.tmp"
(cd "$DIR" && mvn -q -B dependency:copy-dependencies -DoutputDirectory=lib.tmp -DincludeScope=runtime) \
  > /tmp/tributary-iceberg-mvn.log 2>&1 || { tail -30 /tmp/tributary-iceberg-mvn.log >&2; exit 1; }
rm -rf "$DIR/lib" && mv "$DIR/lib.tmp" "$DIR/lib"
echo "$ICEBERG_VERSION" > "$DIR/VERSION"
exit 10
