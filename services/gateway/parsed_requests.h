// The gateway parses its requests itself.
//
// gRPC 1.51's callback server deserializes a request before the service runs, and a request
// that does not parse (protobuf refuses a proto3 string field holding invalid UTF-8, or bytes that
// are not protobuf at all) fails the call with UNIMPLEMENTED and an empty message
// (CallbackUnaryHandler::RunHandler: "if deserialization or reactor creator failed"), which tells
// the client nothing and is not its usual reading: the method exists, the request is at fault.
// So the gateway's methods take the request as bytes and parse it here: a request that does not
// parse, or breaks a bound of input::CheckFields, gets INVALID_ARGUMENT naming the field, before
// anything else runs (authentication included: nothing is read or written for a request that is
// not one). The typed handlers are unchanged: they get the parsed request and a typed response,
// which gRPC serializes as before. The wire contract is the same for every client.
#pragma once

#include <google/protobuf/descriptor.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/server_callback_handlers.h>
#include <grpcpp/support/message_allocator.h>

#include <string_view>

namespace grid::gateway {

// Parses `bytes` as `request` and checks its fields (input::CheckFields): OK, or INVALID_ARGUMENT
// naming the field at fault.
grpc::Status ParseRequest(const grpc::ByteBuffer& bytes, google::protobuf::Message& request);

// The index of the method of the service named `service` (full name) whose request type is
// `request`: each of our RPCs has a request message of its own, and gRPC numbers a service's
// methods in the order the proto declares them. Crashes when there is not exactly one (a build
// that is broken, not bad input).
int MethodIndex(std::string_view service, const google::protobuf::Descriptor& request);

// The messages of one call, allocated when it arrives and released by gRPC once it is done (after
// the reactor's OnDone), so a handler may hold on to the parsed request as it would to a typed
// one: the bytes as received, the parsed request, and the response.
template <class Request, class Response>
class ParsedCall final : public grpc::MessageHolder<grpc::ByteBuffer, Response> {
 public:
  ParsedCall() {
    this->set_request(&bytes_);
    this->set_response(&response_);
  }
  void Release() override { delete this; }
  Request& parsed() { return parsed_; }

 private:
  grpc::ByteBuffer bytes_;
  Request parsed_;
  Response response_;
};

template <class Request, class Response>
class ParsedCallAllocator final : public grpc::MessageAllocator<grpc::ByteBuffer, Response> {
 public:
  grpc::MessageHolder<grpc::ByteBuffer, Response>* AllocateMessages() override {
    return new ParsedCall<Request, Response>();
  }
};

// A service whose unary methods can be re-registered to parse their own requests:
// ParseRequestsOf(&Impl::Method) in the implementation's constructor, one line per method.
// `Service` is the generated service class (v1::GatewayService), `Base` its CallbackService,
// possibly with raw methods. The handler is the one gRPC's generated code registers for a raw
// method, with a typed response.
template <class Service, class Base>
class ParsingService : public Base {
 protected:
  template <class Impl, class Request, class Response>
  void ParseRequestsOf(grpc::ServerUnaryReactor* (Impl::*typed)(grpc::CallbackServerContext*,
                                                                const Request*, Response*)) {
    static ParsedCallAllocator<Request, Response> allocator;
    Impl* self = static_cast<Impl*>(this);
    auto* handler = new grpc::internal::CallbackUnaryHandler<grpc::ByteBuffer, Response>(
        [self, typed](grpc::CallbackServerContext* context, const grpc::ByteBuffer* bytes,
                      Response* response) -> grpc::ServerUnaryReactor* {
          auto* call = static_cast<ParsedCall<Request, Response>*>(context->GetRpcAllocatorState());
          if (grpc::Status parsed = ParseRequest(*bytes, call->parsed()); !parsed.ok()) {
            grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
            reactor->Finish(parsed);
            return reactor;
          }
          return (self->*typed)(context, &call->parsed(), response);
        });
    handler->SetMessageAllocator(&allocator);
    this->MarkMethodRawCallback(MethodIndex(Service::service_full_name(), *Request::descriptor()),
                                handler);
  }

  // The client-streaming method that takes `Request`s gets its messages as bytes: `reactor`
  // makes a reactor that reads ByteBuffers and parses each one with ParseRequest.
  template <class Request, class Impl, class Response>
  void ReadRequestBytesOf(grpc::ServerReadReactor<grpc::ByteBuffer>* (Impl::*reactor)(
      grpc::CallbackServerContext*, Response*)) {
    Impl* self = static_cast<Impl*>(this);
    this->MarkMethodRawCallback(
        MethodIndex(Service::service_full_name(), *Request::descriptor()),
        new grpc::internal::CallbackClientStreamingHandler<grpc::ByteBuffer, Response>(
            [self, reactor](grpc::CallbackServerContext* context, Response* response) {
              return (self->*reactor)(context, response);
            }));
  }
};

}  // namespace grid::gateway
