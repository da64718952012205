# Calling hookwire from Ruby with a client generated from the protos: Execute a hook point,
# Publish an event and Subscribe to it (Debian: apt-get install ruby-grpc ruby-grpc-tools).
#
#   grpc_tools_ruby_protoc -I proto --ruby_out=gen --grpc_out=gen $(find proto -name '*.proto')
#   ruby -I gen examples/ruby/hookwire_client.rb 127.0.0.1:50051 s3cret
#
# Prints one JSON line with what came back.
require "json"
require "grpc"
require "hookwire/v1/executor_service_services_pb"
require "hookwire/v1/event_service_services_pb"

address, token = ARGV
abort "usage: hookwire_client.rb HOST:PORT [TOKEN]" unless address
# The server checks `authorization: Bearer <token>` on every call when it has a token.
metadata = token ? { "authorization" => "Bearer #{token}" } : {}
V1 = Hookwire::V1

executor = V1::ExecutorService::Stub.new(address, :this_channel_is_insecure)
context = V1::HookContext.new(
  point: :HOOK_POINT_BEFORE_TOOL_EXECUTION,
  correlation_id: "ruby-1",
  data: V1::JsonObject.new(fields: { "tool" => V1::JsonValue.new(string_value: "search") }),
)
execution = executor.execute(V1::ExecuteRequest.new(context: context), metadata: metadata).execution

events = V1::EventBusService::Stub.new(address, :this_channel_is_insecure)
published = events.publish(
  V1::PublishRequest.new(
    events: [V1::UniversalEvent.new(type: "tool.invoked", source: "ruby-example",
                                    payload: V1::JsonValue.new(string_value: "search"))],
  ),
  metadata: metadata,
)
sequence = published.sequences.first

# A server stream of EventBatch messages; read the first event from our sequence on.
subscription = events.subscribe(
  V1::SubscribeRequest.new(patterns: ["tool.>"], from_sequence: sequence),
  metadata: metadata, deadline: Time.now + 10,
)
event = nil
subscription.each do |batch|
  event = batch.events.first
  break if event
end

puts JSON.generate(
  result: execution.result.kind.to_s,
  correlation_id: execution.context.correlation_id,
  tool: execution.context.data.fields["tool"].string_value,
  trace: execution.trace.size,
  sequence: sequence,
  event: { type: event.type, sequence: event.sequence, payload: event.payload.string_value },
)
