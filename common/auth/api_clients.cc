#include "common/auth/api_clients.h"

#include <openssl/evp.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/config/json_file.h"

namespace grid::auth {
namespace {

bool ValidName(std::string_view name) {
  return !name.empty() && name.size() <= 40 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

bool ValidDigest(std::string_view digest) {
  return digest.size() == 64 && std::all_of(digest.begin(), digest.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

std::string Sha256Hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    return std::string();
  }
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), static_cast<std::size_t>(length)));
}

absl::StatusOr<std::shared_ptr<const ApiClients>> ApiClients::Build(
    v1::ApiClientConfig config, const topology::Topology& topology) {
  std::shared_ptr<ApiClients> clients(new ApiClients());
  for (int i = 0; i < config.clients_size(); ++i) {
    v1::ApiClient& client = *config.mutable_clients(i);
    const std::string field = absl::StrCat("clients[", i, "]");
    if (!ValidName(client.name())) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".name: \"", client.name().substr(0, 64),
                       "\" is not 1 to 40 characters of a-z, 0-9 and -"));
    }
    if (!clients->by_name_.emplace(client.name(), i).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".name: duplicate client \"", client.name(), "\""));
    }
    absl::AsciiStrToLower(client.mutable_key_sha256());
    if (!ValidDigest(client.key_sha256())) {
      return absl::InvalidArgumentError(
          absl::StrCat(field,
                       ".key_sha256: not 64 hex digits (the SHA-256 of the key: "
                       "`printf %s \"$KEY\" | sha256sum`)"));
    }
    if (topology.Find(client.unit_id()) == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".unit_id: unknown unit \"", client.unit_id().substr(0, 64), "\""));
    }
    if (!v1::Source_IsValid(client.source()) || client.source() == v1::SOURCE_GRID_WORKER) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".source: ", v1::Source_Name(client.source()),
          " is not a source a client system files as (SOURCE_OPEN311, SOURCE_HOTLINE...)"));
    }
    if (client.source() == v1::SOURCE_UNSPECIFIED) {
      client.set_source(v1::SOURCE_OPEN311);
    }
    if (!clients->by_digest_.emplace(client.key_sha256(), i).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".key_sha256: the same key as an earlier client"));
    }
    clients->clients_.push_back(std::move(client));
  }
  return std::shared_ptr<const ApiClients>(std::move(clients));
}

absl::StatusOr<std::shared_ptr<const ApiClients>> ApiClients::Load(
    const std::string& path, const topology::Topology& topology) {
  v1::ApiClientConfig config;
  if (absl::Status status = config::LoadJsonFile(path, config); !status.ok()) {
    return status;
  }
  auto built = Build(std::move(config), topology);
  if (!built.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", built.status().message()));
  }
  return built;
}

const v1::ApiClient* ApiClients::Find(std::string_view key) const {
  if (key.size() < kMinApiKeyLength) {
    return nullptr;
  }
  const auto found = by_digest_.find(Sha256Hex(key));
  if (found == by_digest_.end() || clients_[found->second].disabled()) {
    return nullptr;
  }
  return &clients_[found->second];
}

const v1::ApiClient* ApiClients::FindByName(std::string_view name) const {
  const auto found = by_name_.find(absl::string_view(name.data(), name.size()));
  return found == by_name_.end() ? nullptr : &clients_[found->second];
}

v1::Actor ApiClients::ActorOf(const v1::ApiClient& client) {
  v1::Actor actor;
  actor.set_subject(absl::StrCat("system:", client.name()));
  actor.set_role(v1::ROLE_SYSTEM);
  actor.set_unit_id(client.unit_id());
  return actor;
}

v1::Source ApiClients::SourceOf(const v1::ApiClient& client) {
  return client.source() == v1::SOURCE_UNSPECIFIED ? v1::SOURCE_OPEN311 : client.source();
}

}  // namespace grid::auth
