#include "services/gateway/parsed_requests.h"

#include <grpcpp/support/proto_buffer_reader.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "common/input/fields.h"
#include "common/input/unparsable.h"

namespace grid::gateway {

grpc::Status ParseRequest(const grpc::ByteBuffer& bytes, google::protobuf::Message& request) {
  // Parsed in place, as gRPC's own deserializer does (the copy shares the slices); flattened only
  // to explain a failure.
  grpc::ByteBuffer shared(bytes);
  grpc::ProtoBufferReader reader(&shared);
  if (!reader.status().ok() || !request.ParseFromZeroCopyStream(&reader)) {
    std::vector<grpc::Slice> slices;
    std::string flat;
    if (bytes.Dump(&slices).ok()) {
      for (const grpc::Slice& slice : slices) {
        flat.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
      }
    }
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        input::WhyUnparsable(flat, *request.GetDescriptor()));
  }
  if (absl::Status fields = input::CheckFields(request); !fields.ok()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(fields.message()));
  }
  return grpc::Status::OK;
}

int MethodIndex(std::string_view service, const google::protobuf::Descriptor& request) {
  const google::protobuf::ServiceDescriptor* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(std::string(service));
  int found = -1;
  for (int i = 0; descriptor != nullptr && i < descriptor->method_count(); ++i) {
    if (descriptor->method(i)->input_type() == &request) {
      if (found >= 0) {
        found = -2;
        break;
      }
      found = i;
    }
  }
  if (found < 0) {
    spdlog::critical("{}: no single method takes {}", service, request.full_name());
    std::abort();
  }
  return found;
}

}  // namespace grid::gateway
