#!/usr/bin/env bash
# Installs Hadoop's MiniDFSCluster (hadoop-client-minicluster, with the JAXB API that Hadoop needs
# on Java 17) from Maven Central into DIR/lib (default .deps/hadoop), idempotently: when every
# wanted jar is there already it only checks (exit 0). Exit 10: installed now. The hdfs
# connector's tests start one NameNode + DataNode from it (tests/connectors/s3/hdfs_cluster.*).
# Called by scripts/setup.sh; needs mvn and a JDK/JRE 17.
# Usage: scripts/setup_hadoop.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-$PWD/.deps/hadoop}
HADOOP_VERSION=3.4.1
JAXB_VERSION=2.3.1
want=("hadoop-client-minicluster-$HADOOP_VERSION.jar" "hadoop-client-runtime-$HADOOP_VERSION.jar"
  "hadoop-client-api-$HADOOP_VERSION.jar" "jaxb-api-$JAXB_VERSION.jar")
have_all=1
for j in "${want[@]}"; do [ -f "$DIR/lib/$j" ] || have_all=0; done
[ $have_all = 1 ] && exit 0

command -v mvn >/dev/null || { echo "[setup] mvn not found (apt-get install maven)" >&2; exit 1; }
mkdir -p "$DIR"
dep() {
  printf '    <dependency><groupId>%s</groupId><artifactId>%s</artifactId><version>%s</version></dependency>\n' \
    "$1" "$2" "$3"
}
{
  echo '<project><modelVersion>4.0.0</modelVersion>'
  echo '  <groupId>tributary</groupId><artifactId>hdfs-test-cluster</artifactId><version>1</version>'
  echo '  <packaging>pom</packaging>'
  echo '  <dependencies>'
  dep org.apache.hadoop hadoop-client-minicluster "$HADOOP_VERSION"
  dep org.apache.hadoop hadoop-client-runtime "$HADOOP_VERSION"
  dep org.apache.hadoop hadoop-client-api "$HADOOP_VERSION"
  dep javax.xml.bind jaxb-api "$JAXB_VERSION"
  echo '  </dependencies>'
  echo '</project>'
} > "$DIR/pom.xml"
echo "[setup] mvn dependency:copy-dependencies (Hadoop minicluster $HADOOP_VERSION) into $DIR/lib"
rm -rf "$DIR/lib.tmp"
(cd "$DIR" && mvn -q -B dependency:copy-dependencies -DoutputDirectory=lib.tmp -DincludeScope=runtime) \
  > /tmp/tributary-hadoop-mvn.log 2>&1 || { tail -30 /tmp/tributary-hadoop-mvn.log >&2; exit 1; }
rm -rf "$DIR/lib" && mv "$DIR/lib.tmp" "$DIR/lib"
echo "$HADOOP_VERSION" > "$DIR/VERSION"
exit 10
