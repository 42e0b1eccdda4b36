#pragma once
// The object-store interface the object sink and source are written against, so that GCS, Azure
// Blob and HDFS can plug in beside S3 (issue 14). Internal to connectors/s3; public to its tests.

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace trib::connectors::s3_detail {

struct object_info {
    std::string key;
    std::string etag;  // as the store sends it, quotes included
    std::uint64_t size = 0;
};

struct list_page {
    std::vector<object_info> objects;  // in key order
    bool truncated = false;
    std::string next_token;
};

/// What a conditional put found.
enum class put_outcome : std::uint8_t {
    created,         // the object did not exist and holds the bytes now
    already_existed  // an object of that name existed (If-None-Match refused): left as it was
};

/// A bucket (container) in an object store.
/// Thread-safety: one thread at a time (the connectors own one store each). Calls block; they
/// return errc::cancelled soon after the connector's stop token is signalled.
class object_store {
  public:
    virtual ~object_store() = default;
    /// Checks that the bucket exists and the credentials are accepted.
    virtual status check() = 0;
    /// Writes an object only if none of that name exists (a conditional put where the store has
    /// one, multipart above the part size, aborted on failure). `content_type` may be empty;
    /// `tag` (may be empty) is kept with the object as user metadata, for tag_of().
    virtual result<put_outcome> put_if_absent(std::string_view key, std::string_view body,
                                              std::string_view content_type,
                                              std::string_view tag = {}) = 0;
    /// The tag an object was put with ("" when it has none); errc::not_found when it is absent.
    virtual result<std::string> tag_of(std::string_view key) = 0;
    /// One page of the keys under `prefix` after `start_after` (both may be empty).
    virtual result<list_page> list(std::string_view prefix, std::string_view start_after,
                                   std::string_view continuation, int max_keys) = 0;
    /// Bytes [first, first + count) of an object (fewer at its end); with `if_match` (an ETag)
    /// a changed object fails with errc::failed_precondition.
    virtual result<std::string> get(std::string_view key, std::uint64_t first, std::uint64_t count,
                                    std::string_view if_match) = 0;
    virtual status remove(std::string_view key) = 0;
    /// Server-side copy (for move-after-read).
    virtual status copy(std::string_view from, std::string_view to) = 0;
    /// Objects written by multipart upload so far (for tests and metrics).
    virtual std::uint64_t multipart_uploads() const = 0;
    /// Moves an object (move-after-read): a copy and a delete where the store has no rename.
    virtual status move(std::string_view from, std::string_view to) {
        TRIB_TRY(copy(from, to));
        return remove(from);
    }
};

/// Which store a connector writes to or reads from (the same sink and source over each).
enum class store_kind : std::uint8_t { s3, gcs, azure_blob, hdfs };

/// "S3", "GCS", "Azure Blob", "HDFS" (for messages).
constexpr std::string_view store_label(store_kind k) {
    switch (k) {
        case store_kind::gcs:
            return "GCS";
        case store_kind::azure_blob:
            return "Azure Blob";
        case store_kind::hdfs:
            return "HDFS";
        case store_kind::s3:
            break;
    }
    return "S3";
}

/// Google Cloud Storage credentials: a service-account key file (JWT RS256 exchanged for a token
/// at its token_uri), a given bearer token, or none (an emulator).
struct gcs_auth {
    std::string credentials_file;  // service-account JSON key; empty: see token
    std::string token;             // secret; a ready OAuth2 access token
    bool anonymous = false;        // no Authorization header (fake-gcs-server, the emulator)
    std::string scope = "https://www.googleapis.com/auth/devstorage.read_write";
};

/// Azure Blob Storage credentials: SharedKey (account key) or a SAS token.
struct azure_auth {
    std::string account;  // account name (also in the canonicalized resource)
    std::string key;      // secret; base64 account key for SharedKey
    std::string sas;      // secret; a SAS token (query string, without '?')
};

/// WebHDFS credentials: simple authentication (`user.name`) or a delegation token.
struct hdfs_auth {
    std::string user;        // user.name; empty: none sent
    std::string delegation;  // secret; `delegation=` token
};

/// The HTTP byte range of a ranged get (`count` bytes from `first`, or from `first` to the end
/// when `count` is 0): "bytes=F-L" / "bytes=F-", or "" for the whole object.
inline std::string byte_range(std::uint64_t first, std::uint64_t count) {
    if (count > 0)
        return "bytes=" + std::to_string(first) + "-" + std::to_string(first + count - 1);
    if (first > 0)
        return "bytes=" + std::to_string(first) + "-";
    return {};
}

/// Drops the listed objects at or before `start_after` (stores whose listing cannot start after
/// a key, or start at it inclusively).
inline void drop_up_to(list_page& page, std::string_view start_after) {
    if (!start_after.empty())
        std::erase_if(page.objects, [&](const object_info& o) { return o.key <= start_after; });
}

}  // namespace trib::connectors::s3_detail
