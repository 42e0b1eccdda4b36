#!/usr/bin/env bash
# Fetches jars and their runtime dependencies from Maven Central into DIR/lib with
# `mvn dependency:copy-dependencies`, idempotently: when every WANT jar is in DIR/lib already it
# only checks (exit 0). Exit 10: installed now (DIR/VERSION holds VERSION). Used by
# setup_kafka.sh and setup.sh (Hadoop); needs mvn and a JDK/JRE 17.
# Usage: scripts/setup_maven_jars.sh DIR NAME VERSION "WANT.jar ..." group:artifact:version ...
set -euo pipefail
DIR=$1 NAME=$2 VERSION=$3
read -r -a want <<< "$4"
shift 4
have_all=1
for j in "${want[@]}"; do [ -f "$DIR/lib/$j" ] || have_all=0; done
[ $have_all = 1 ] && exit 0

command -v mvn >/dev/null || { echo "[setup] mvn not found (apt-get install maven)" >&2; exit 1; }
mkdir -p "$DIR"
{
  echo '<project><modelVersion>4.0.0</modelVersion>'
  echo "  <groupId>tributary</groupId><artifactId>$NAME</artifactId><version>1</version>"
  echo '  <packaging>pom</packaging>'
  echo '  <dependencies>'
  for gav in "$@"; do
    IFS=: read -r g a v <<< "$gav"
    printf '    <dependency><groupId>%s</groupId><artifactId>%s</artifactId><version>%s</version></dependency>\n' \
      "$g" "$a" "$v"
  done
  echo '  </dependencies>'
  echo '</project>'
} > "$DIR/pom.xml"
echo "[setup] mvn dependency:copy-dependencies ($NAME $VERSION) into $DIR/lib"
log=/tmp/tributary-$NAME-mvn.log
rm -rf "$DIR/lib.tmp"
(cd "$DIR" && mvn -q -B dependency:copy-dependencies -DoutputDirectory=lib.tmp -DincludeScope=runtime) \
  > "$log" 2>&1 || { tail -30 "$log" >&2; exit 1; }
rm -rf "$DIR/lib" && mv "$DIR/lib.tmp" "$DIR/lib"
echo "$VERSION" > "$DIR/VERSION"
exit 10
