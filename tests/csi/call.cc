/*
 * tests/csi/call.cc — csi-call, a small CSI client for the tests: calls one
 * RPC of a CSI endpoint with a request written in protobuf text format and
 * prints the answer the same way.
 *
 *   csi-call unix:///PATH Controller.CreateVolume 'name: "a" volume_capabilities { ... }'
 *
 * On success it prints the response and exits 0; on a gRPC error it prints
 * "ERROR CODE_NAME: message" and exits 1; bad usage exits 2.
 */
#include <iostream>
#include <memory>
#include <string>

#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/text_format.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/client_unary_call.h>
#include <grpcpp/impl/codegen/proto_utils.h>

#include "csi.pb.h"

using google::protobuf::Message;

static const char *code_name(grpc::StatusCode c)
{
	static const char *const names[] = {
		"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
		"PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
		"UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
	};
	unsigned i = static_cast<unsigned>(c);
	return i < sizeof names / sizeof names[0] ? names[i] : "UNKNOWN";
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4) {
		std::cerr << "usage: csi-call ENDPOINT SERVICE.METHOD [TEXT-PROTO]\n";
		return 2;
	}
	/* Make sure the generated descriptors are linked in and registered. */
	csi::v1::ProbeRequest::descriptor();
	std::string full = std::string("csi.v1.") + argv[2];
	const auto *method = google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(full);
	if (!method) {
		std::cerr << "csi-call: no method " << full << "\n";
		return 2;
	}
	auto *factory = google::protobuf::MessageFactory::generated_factory();
	std::unique_ptr<Message> req(factory->GetPrototype(method->input_type())->New());
	std::unique_ptr<Message> resp(factory->GetPrototype(method->output_type())->New());
	if (argc == 4 && !google::protobuf::TextFormat::ParseFromString(argv[3], req.get())) {
		std::cerr << "csi-call: cannot parse the request as " << method->input_type()->full_name() << "\n";
		return 2;
	}
	auto channel = grpc::CreateChannel(argv[1], grpc::InsecureChannelCredentials());
	grpc::ClientContext ctx;
	ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
	std::string path = "/csi.v1." + method->service()->name() + "/" + method->name();
	grpc::internal::RpcMethod rpc(path.c_str(), grpc::internal::RpcMethod::NORMAL_RPC);
	grpc::Status s = grpc::internal::BlockingUnaryCall<Message, Message>(channel.get(), rpc, &ctx, *req, resp.get());
	if (!s.ok()) {
		std::cout << "ERROR " << code_name(s.error_code()) << ": " << s.error_message() << "\n";
		return 1;
	}
	std::string text;
	google::protobuf::TextFormat::PrintToString(*resp, &text);
	std::cout << text;
	return 0;
}
