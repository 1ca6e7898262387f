// The berth.db schema, in one place (STYLE.md 13). Each migration moves
// PRAGMA user_version from N-1 to N inside one transaction. Never edit a
// released migration: append a new one.
//
// Version 1
//   images        one row per image (id = "sha256:<hex>" of the config blob).
//                 config: the config JSON exactly as stored in the blob;
//                 labels: config.Labels as JSON ('' when none), kept apart so
//                 listing never parses configs; created: unix nanos from
//                 config.created; size: sum of layer sizes (unpacked);
//                 parent: parent image id ('' for none; build sets it);
//                 manifest_digest: local OCI manifest blob ('' if none);
//                 last_tag_time: unix nanos of the last tag (0 = never).
//   tags          familiar "name:tag" -> image id ("busybox:latest").
//   digests       familiar "name@sha256:<hex>" -> image id (RepoDigests).
//   layers        one row per unpacked layer snapshot, keyed by chain id;
//                 blob_digest: the layer blob in content/ (for import: the
//                 uncompressed tar, = diff_id).
//   image_layers  ordered layers of an image (idx 0 = bottom). No foreign
//                 key to images: rows of a deleted image whose id is still
//                 in containers.image_id keep its layers alive until the
//                 last such container is gone (ImageService::garbageCollect).
//   containers    the container service's rows (no foreign key to images).
//
// Version 2
//   volumes       the local volume driver's volumes (src/volume): labels and
//                 options as JSON objects; created: unix nanos. The data
//                 lives in volumes/<name>/_data; anonymous volumes carry the
//                 label com.docker.volume.anonymous.
//
// Version 3
//   networks      the network service's networks (src/network/service.cpp):
//                 id (64 hex), name (unique), driver, created (unix nanos),
//                 doc: the network as JSON (options, labels, IPAM config
//                 with the gateways in use, bridge name, flags).
//   endpoints     live endpoints: one row per (network, container) while the
//                 container is joined; doc: the endpoint as JSON (addresses,
//                 MAC, host veth, aliases, DNS names, published ports). Rows
//                 of containers no longer running are removed at berthd start.
//
// Version 4
//   tags, digests gain ns, the namespace of the name (containerd keeps one
//   per client): '' is Docker's (the Engine API), 'k8s.io' the CRI's
//   (image/service.h, ImageService::inNamespace). The key becomes
//   (ns, ref); image rows, layers and blobs stay shared by every namespace.
#include <vector>

#include "store/database.h"

namespace berth::store {

namespace {

struct Migration {
  int version;
  const char* sql;
};

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> kMigrations = {
      {1, R"sql(
CREATE TABLE images (
  id              TEXT PRIMARY KEY,
  config          TEXT NOT NULL,
  labels          TEXT NOT NULL DEFAULT '',
  created         INTEGER NOT NULL,
  size            INTEGER NOT NULL,
  parent          TEXT NOT NULL DEFAULT '',
  manifest_digest TEXT NOT NULL DEFAULT '',
  last_tag_time   INTEGER NOT NULL DEFAULT 0,
  added           INTEGER NOT NULL
);
CREATE INDEX images_parent ON images(parent);
CREATE TABLE tags (
  ref      TEXT PRIMARY KEY,
  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  created  INTEGER NOT NULL
);
CREATE INDEX tags_image ON tags(image_id);
CREATE TABLE digests (
  ref      TEXT PRIMARY KEY,
  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  created  INTEGER NOT NULL
);
CREATE INDEX digests_image ON digests(image_id);
CREATE TABLE layers (
  chain_id    TEXT PRIMARY KEY,
  diff_id     TEXT NOT NULL,
  parent      TEXT NOT NULL DEFAULT '',
  size        INTEGER NOT NULL,
  blob_digest TEXT NOT NULL DEFAULT '',
  media_type  TEXT NOT NULL DEFAULT '',
  created     INTEGER NOT NULL
);
CREATE TABLE image_layers (
  image_id TEXT NOT NULL,
  idx      INTEGER NOT NULL,
  chain_id TEXT NOT NULL REFERENCES layers(chain_id),
  PRIMARY KEY (image_id, idx)
);
CREATE INDEX image_layers_chain ON image_layers(chain_id);
CREATE TABLE containers (
  id       TEXT PRIMARY KEY,
  name     TEXT UNIQUE NOT NULL,
  image_id TEXT NOT NULL,
  created  INTEGER NOT NULL,
  config   TEXT NOT NULL,
  state    TEXT NOT NULL
);
CREATE INDEX containers_image ON containers(image_id);
)sql"},
      {2, R"sql(
CREATE TABLE volumes (
  name     TEXT PRIMARY KEY,
  driver   TEXT NOT NULL,
  labels   TEXT NOT NULL DEFAULT '{}',
  options  TEXT NOT NULL DEFAULT '{}',
  created  INTEGER NOT NULL
);
)sql"},
      {3, R"sql(
CREATE TABLE networks (
  id       TEXT PRIMARY KEY,
  name     TEXT UNIQUE NOT NULL,
  driver   TEXT NOT NULL,
  created  INTEGER NOT NULL,
  doc      TEXT NOT NULL
);
CREATE TABLE endpoints (
  network_id    TEXT NOT NULL REFERENCES networks(id) ON DELETE CASCADE,
  container_id  TEXT NOT NULL,
  doc           TEXT NOT NULL,
  PRIMARY KEY (network_id, container_id)
);
CREATE INDEX endpoints_container ON endpoints(container_id);
)sql"},
      {4, R"sql(
CREATE TABLE tags_v4 (
  ns       TEXT NOT NULL DEFAULT '',
  ref      TEXT NOT NULL,
  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  created  INTEGER NOT NULL,
  PRIMARY KEY (ns, ref)
);
INSERT INTO tags_v4(ns, ref, image_id, created) SELECT '', ref, image_id, created FROM tags;
DROP TABLE tags;
ALTER TABLE tags_v4 RENAME TO tags;
CREATE INDEX tags_image ON tags(image_id);
CREATE TABLE digests_v4 (
  ns       TEXT NOT NULL DEFAULT '',
  ref      TEXT NOT NULL,
  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  created  INTEGER NOT NULL,
  PRIMARY KEY (ns, ref)
);
INSERT INTO digests_v4(ns, ref, image_id, created) SELECT '', ref, image_id, created FROM digests;
DROP TABLE digests;
ALTER TABLE digests_v4 RENAME TO digests;
CREATE INDEX digests_image ON digests(image_id);
)sql"},
  };
  return kMigrations;
}

}  // namespace

const int kSchemaVersion = 4;

Result<> migrate(Database& db) {
  std::lock_guard lk(db.mutex());
  TRY_ASSIGN(int current, db.schemaVersion());
  if (current > kSchemaVersion)
    return errorf(Code::FailedPrecondition, "database schema version {} is newer than this berthd ({})", current,
                  kSchemaVersion);
  for (const auto& m : migrations()) {
    if (m.version <= current) continue;
    auto r = db.transaction([&]() -> Result<> {
      TRY(db.exec(m.sql));
      return db.exec(fmt::format("PRAGMA user_version = {}", m.version));
    });
    if (!r) return std::unexpected(r.error().wrap(fmt::format("migrate schema to version {}", m.version)));
  }
  return {};
}

}  // namespace berth::store
