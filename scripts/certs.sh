#!/usr/bin/env bash
# Test certificates for the TLS listeners (openssl, EC P-256), made once into DIR:
#   ca.pem / ca.key           the test CA
#   other-ca.pem              a CA nobody used (the "wrong CA" test)
#   broker.pem / broker.key   the broker: SAN localhost, broker1.kre.test (signed by the CA)
#   broker-keystore.pem       key + chain, Kafka's PEM keystore form
#   expired-keystore.pem      the same names, valid only in January 2020
#   client.pem / client.key   a client certificate (CN=kre-client) for mTLS
# Usage: scripts/certs.sh DIR
set -euo pipefail
dir=${1:?usage: certs.sh DIR}
mkdir -p "$dir"
cd "$dir"
[ -f .complete ] && exit 0
rm -rf tmp && mkdir tmp

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

ca() { # ca NAME CN
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -sha256 -days 3650 -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$1.pem"
}
ca ca "kafka-rest-edge test CA"
ca other-ca "some other CA"

cat > tmp/server.ext <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,DNS:broker1.kre.test
EXT
cat > tmp/client.ext <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
EXT

key broker.key
openssl req -new -key broker.key -subj "/CN=broker1.kre.test" -out tmp/broker.csr
openssl x509 -req -in tmp/broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 -sha256 \
  -extfile tmp/server.ext -out broker.pem 2>/dev/null
cat broker.key broker.pem ca.pem > broker-keystore.pem

key client.key
openssl req -new -key client.key -subj "/CN=kre-client" -out tmp/client.csr
openssl x509 -req -in tmp/client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 -sha256 \
  -extfile tmp/client.ext -out client.pem 2>/dev/null

# An expired certificate: `openssl ca` takes explicit start and end dates.
mkdir -p tmp/ca && : > tmp/ca/index.txt && echo 1000 > tmp/ca/serial
cat > tmp/ca.cnf <<CNF
[ca]
default_ca = test
[test]
dir = $PWD/tmp/ca
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir
default_md = sha256
policy = any
copy_extensions = none
[any]
commonName = supplied
CNF
key expired.key
openssl req -new -key expired.key -subj "/CN=broker1.kre.test" -out tmp/expired.csr
openssl ca -batch -config tmp/ca.cnf -cert ca.pem -keyfile ca.key -in tmp/expired.csr -notext \
  -startdate 20200101000000Z -enddate 20200201000000Z -extfile tmp/server.ext -out expired.pem 2>/dev/null
cat expired.key expired.pem ca.pem > expired-keystore.pem
rm -rf tmp
touch .complete
echo "[certs] test CA and certificates in $PWD"
