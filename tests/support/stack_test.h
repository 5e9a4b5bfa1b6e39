// A GoogleTest fixture over a whole Stack: starts it, prints every service's log when a test
// fails, and makes calls through the gateway as a given actor.
#pragma once

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <iostream>
#include <memory>
#include <string>

#include "tests/support/poll.h"
#include "tests/support/stack.h"

namespace grid::testing {

class StackTest : public ::testing::Test {
 protected:
  // Starts a stack with `options`; the test fails (fatally) when it does not come up.
  void StartStack(Stack::Options options = Stack::Options()) {
    stack_ = std::make_unique<Stack>(std::move(options));
    auto status = stack_->Start();
    ASSERT_TRUE(status.ok()) << status;
  }

  void TearDown() override {
    if (HasFailure() && stack_ != nullptr) {
      std::cerr << stack_->Logs();
    }
  }

  v1::GatewayService::Stub& gateway() { return stack_->gateway(); }

  // A call as `actor` (their bearer token), an admin when not said, with a deadline.
  std::unique_ptr<grpc::ClientContext> Context(
      const v1::Actor& actor = Stack::Admin(),
      std::chrono::milliseconds deadline = std::chrono::seconds(5)) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + deadline);
    stack_->Authorize(*context, actor);
    return context;
  }

  // The event as an admin (reader_) reads it through the gateway now; empty when the read fails.
  v1::Event Get(const std::string& id) {
    v1::GetEventRequest request;
    request.set_event_id(id);
    v1::GetEventResponse response;
    (void)gateway().GetEvent(Context(reader_).get(), request, &response);
    return response.event();
  }

  // Polls until `ok(event)` holds or `deadline` passes (then the test fails); the event as last
  // read.
  v1::Event AwaitWhere(const std::string& id, const std::function<bool(const v1::Event&)>& ok,
                       std::chrono::milliseconds deadline = std::chrono::seconds(20)) {
    v1::Event event;
    const bool done = PollUntil(
        [&] {
          event = Get(id);
          return ok(event);
        },
        deadline);
    EXPECT_TRUE(done) << id << " " << event.ShortDebugString();
    return event;
  }

  // Who Get and AwaitWhere read as: Laoshan's admin, unless a test of another topology says.
  v1::Actor reader_ = Stack::Admin();

  static v1::Actor MakeActor(v1::Role role, const std::string& subject, const std::string& unit) {
    v1::Actor actor;
    actor.set_role(role);
    actor.set_subject(subject);
    actor.set_unit_id(unit);
    return actor;
  }

  std::unique_ptr<Stack> stack_;
};

}  // namespace grid::testing
