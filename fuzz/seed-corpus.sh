#!/usr/bin/env bash
# Writes small seed corpora for the fuzz targets into fuzz/corpus/<target>/ (ignored by
# git). The seeds are written out here or taken from config.example.yaml; nothing is
# copied from elsewhere. Safe to run again: it only adds or overwrites seed-* files.
set -euo pipefail
cd "$(dirname "$0")"

seed() { # seed TARGET NAME CONTENT
    mkdir -p "corpus/$1"
    printf '%s' "$3" >"corpus/$1/seed-$2"
}

# config_load
mkdir -p corpus/config_load
cp ../config.example.yaml corpus/config_load/seed-example.yaml
seed config_load minimal 'nbuservers: [{site: paris, host: nbu.example.com, apiKey: k}]
'
seed config_load block 'server:
  host: 127.0.0.1
  port: "${NBU_PORT}"
  uri: /metrics
  scrapingInterval: 1h
  collectionInterval: 5m
  collectionTimeout: 2m
  logName: ""
  logLevel: debug
  enableLifecycle: true
  cacheTTL: 5m
reload:
  debounce: 200ms
  pollInterval: 30s
nbuservers:
  - site: paris
    scheme: https
    host: "${NBU_HOST}"
    port: 1556
    uri: /netbackup
    apiKey: "${NBU_KEY}"
    apiVersion: "13.0"
    insecureSkipVerify: false
    timeout: 30s
  - site: london
    host: london.example.com
    apiKeyFile: london.key
    caFile: ca.pem
collectors:
  alerts: {enabled: true}
  perClient: {enabled: false, allowlist: [a, b]}
opentelemetry: {enabled: false, endpoint: "localhost:4317", insecure: true, samplingRate: 0.5}
'
seed config_load legacy 'nbuserver:
  host: nbu.example.com
  port: "1556"
  apiKey: k
  domain: d
  domainType: t
  contentType: c
'
seed config_load anchors 'x: &d {scheme: http, port: 1556}
nbuservers:
  - <<: *d
    site: a
    host: h
    apiKey: "$${NOT_A_VAR}"
'
seed config_load bad 'server: {port: 70000, banana: 1}
nbuservers: [{site: "bad name", host: "http://h/", apiKey: "${NOPE}"}]
'

# decode_jobs
seed decode_jobs empty ''
seed decode_jobs page '{"data":[{"type":"job","id":"1001","attributes":{"jobId":1001,"jobType":"BACKUP","policyType":"VMWARE","state":"DONE","status":0,"kilobytesTransferred":1048576,"numberOfFiles":12,"dedupRatio":3.5,"startTime":"2025-01-01T10:00:00.123Z","endTime":"2025-01-01T10:05:00Z","jobQueueReason":0}},{"id":"1002","attributes":{"jobId":"1002","jobType":"RESTORE","state":"ACTIVE","status":null,"kilobytesTransferred":"42","startTime":"2025-01-01T12:00:00+02:00","endTime":"0001-01-01T00:00:00Z"}}],"meta":{"pagination":{"next":"eyJvZmZzZXQiOjEwMH0","limit":100}}}'
seed decode_jobs odd '{"data":[null,7,"x",[1],{"id":5}],"meta":{"pagination":{"next":""}}}'

# decode_storage
seed decode_storage empty '{"data":[]}'
seed decode_storage page '{"data":[{"type":"storageUnit","id":"stu-disk","attributes":{"name":"stu-disk","storageType":"DISK","storageSubType":"PureDisk","storageServerType":"PureDisk","freeCapacityBytes":1099511627776,"usedCapacityBytes":"5497558138880","totalCapacityBytes":6597069766656,"maxConcurrentJobs":20,"maxFragmentSizeMegabytes":51200,"isCloudSTU":false,"wormCapable":"true","useWorm":0,"replicationCapable":1,"instantAccessEnabled":true}},{"id":"stu-tape","attributes":{"storageType":"Tape"}}],"meta":{"pagination":{"count":2,"offset":0,"limit":100}}}'
seed decode_storage odd '{"data":null,"meta":{"pagination":{"count":-1}}}'

echo "seeds: $(ls corpus/config_load | wc -l) config_load, $(ls corpus/decode_jobs | wc -l) decode_jobs, $(ls corpus/decode_storage | wc -l) decode_storage"
