// Client systems that call the gateway with an api key instead of a bearer token (an Open311
// GeoReport v2 client, the 12345 hotline's system): the gateway's --api-keys file
// (grid.v1.ApiClientConfig, gateway.proto), checked and indexed by the SHA-256 of the key, so the
// file holds no key itself.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "common/topology/topology.h"
#include "grid/v1/gateway.pb.h"
#include "grid/v1/types.pb.h"

namespace grid::auth {

// The least length of a key: 32 characters (`openssl rand -hex 32` gives 64).
inline constexpr std::size_t kMinApiKeyLength = 32;

// The lowercase hex SHA-256 of `text`.
std::string Sha256Hex(std::string_view text);

// Immutable once built; safe to share between threads.
class ApiClients final {
 public:
  // Checks every client against `topology` (errors name the field, e.g.
  // "clients[1].unit_id: unknown unit \"370299\""): a name of [a-z0-9-] (1 to 40, unique), a
  // key_sha256 of 64 hex digits (unique), a known unit, and a source that is a Source value other
  // than SOURCE_GRID_WORKER (unset reads as SOURCE_OPEN311).
  static absl::StatusOr<std::shared_ptr<const ApiClients>> Build(
      v1::ApiClientConfig config, const topology::Topology& topology);
  // Loads a JSON file (protobuf JSON of grid.v1.ApiClientConfig) and builds it.
  static absl::StatusOr<std::shared_ptr<const ApiClients>> Load(const std::string& path,
                                                                const topology::Topology& topology);

  // The enabled client whose key is `key`; nullptr for a key that is unknown, disabled or shorter
  // than kMinApiKeyLength.
  const v1::ApiClient* Find(std::string_view key) const;
  // The client named `name`, enabled or not; nullptr when there is none.
  const v1::ApiClient* FindByName(std::string_view name) const;

  // The caller a client's calls come from: subject "system:<name>", ROLE_SYSTEM, its unit.
  static v1::Actor ActorOf(const v1::ApiClient& client);
  // The source of the reports `client` files (SOURCE_OPEN311 when unset).
  static v1::Source SourceOf(const v1::ApiClient& client);

  int size() const { return static_cast<int>(clients_.size()); }

 private:
  ApiClients() = default;
  std::vector<v1::ApiClient> clients_;
  // Indexes into clients_.
  absl::flat_hash_map<std::string, int> by_digest_;
  absl::flat_hash_map<std::string, int> by_name_;
};

using ApiClientsPtr = std::shared_ptr<const ApiClients>;

}  // namespace grid::auth
