/*
 * tools/csi/main.cc — volfs-csi: the CSI plugin of a volfs node. Parses the
 * command line, serves the Identity, Controller and Node services on a unix
 * socket, and stops cleanly on SIGTERM or SIGINT (removing its socket).
 */
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <thread>

#include <sys/stat.h>
#include <unistd.h>

#include "tools/csi/plugin.h"

extern "C" {
#include "tools/client.h"
}

extern "C" const char volfs_version[];

using namespace volfs_csi;

static const char USAGE[] =
	"Usage: volfs-csi --endpoint unix:///PATH --node-id NAME [--state DIR | --socket PATH]\n"
	"                 [--kubelet-dir DIR] [--snapshot-namespace NS] [--max-volumes N]\n"
	"\n"
	"The CSI plugin (driver volfs.csi.k8s.io) of the volfs daemon on this node.\n"
	"\n"
	"Options:\n"
	"  --endpoint unix:///PATH    the socket to serve CSI on (a plain path works too)\n"
	"  --node-id NAME             this node's name, for the topology key\n"
	"                             topology.volfs.csi.k8s.io/node (Kubernetes: spec.nodeName)\n"
	"  --state DIR                the daemon's state directory (default /var/lib/volfs)\n"
	"  --socket PATH              the daemon's control socket (default STATE/control.sock)\n"
	"  --kubelet-dir DIR          target paths must be below it (default /var/lib/kubelet)\n"
	"  --snapshot-namespace NS    where CSI snapshots live in volfs (default \"default\")\n"
	"  --max-volumes N            volumes per node NodeGetInfo reports (default 0: no limit)\n"
	"  -h, --help                 this text\n"
	"  --version                  the version\n";

static int usage_error(const std::string &msg)
{
	std::cerr << "volfs-csi: " << msg << " (see volfs-csi --help)\n";
	return 2;
}

/* The unix socket path of an endpoint: unix:///run/x.sock, unix:/run/x.sock
 * or /run/x.sock. */
static std::string endpoint_path(const std::string &endpoint)
{
	std::string p = endpoint;
	if (p.rfind("unix://", 0) == 0)
		p = p.substr(7);
	else if (p.rfind("unix:", 0) == 0)
		p = p.substr(5);
	return p;
}

/* Parses argv into c and the endpoint path; a non-negative return is the
 * exit status to end with (help, version, bad usage). */
static int parse_args(int argc, char **argv, Config *c, std::string *endpoint)
{
	std::string state = CLIENT_DEFAULT_STATE, socket;
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i], v;
		if (a == "-h" || a == "--help") {
			std::cout << USAGE;
			return 0;
		}
		if (a == "--version") {
			std::cout << "volfs-csi " << volfs_version << "\n";
			return 0;
		}
		size_t eq = a.find('=');
		if (a.rfind("--", 0) == 0 && eq != std::string::npos) {
			v = a.substr(eq + 1);
			a = a.substr(0, eq);
		} else if (i + 1 < argc) {
			v = argv[++i];
		} else {
			return usage_error(a.rfind("--", 0) == 0 ? a + " needs a value" : "unexpected argument \"" + a + "\"");
		}
		if (a == "--endpoint")
			*endpoint = endpoint_path(v);
		else if (a == "--node-id")
			c->node_id = v;
		else if (a == "--state")
			state = v;
		else if (a == "--socket")
			socket = v;
		else if (a == "--kubelet-dir")
			c->kubelet_dir = v;
		else if (a == "--snapshot-namespace")
			c->snapshot_namespace = v;
		else if (a == "--max-volumes") {
			char *end = nullptr;
			long long n = std::strtoll(v.c_str(), &end, 10);
			if (v.empty() || *end || n < 0)
				return usage_error("--max-volumes: \"" + v + "\" is not a number of volumes");
			c->max_volumes = n;
		} else
			return usage_error("unknown option \"" + a + "\"");
	}
	if (endpoint->empty() || (*endpoint)[0] != '/')
		return usage_error("--endpoint unix:///PATH is required");
	if (c->node_id.empty())
		return usage_error("--node-id is required");
	char real[PATH_MAX];
	if (!realpath(c->kubelet_dir.c_str(), real))
		return usage_error("--kubelet-dir " + c->kubelet_dir + ": " + std::strerror(errno));
	c->kubelet_dir = real;
	if (socket.empty()) {
		char buf[PATH_MAX];
		client_socket_path(state.c_str(), buf, sizeof buf);
		socket = buf;
	}
	c->socket = socket;
	return -1;
}

/* A socket left by a plugin that did not stop cleanly would keep gRPC from
 * listening; anything else at the path is not ours to remove. */
static bool clear_stale_socket(const std::string &path)
{
	struct stat st;
	if (lstat(path.c_str(), &st) < 0)
		return errno == ENOENT;
	return S_ISSOCK(st.st_mode) && unlink(path.c_str()) == 0;
}

int main(int argc, char **argv)
{
	Config config;
	std::string endpoint;
	int rc = parse_args(argc, argv, &config, &endpoint);
	if (rc >= 0)
		return rc;
	if (!clear_stale_socket(endpoint)) {
		std::cerr << "volfs-csi: " << endpoint << " exists and is not a socket\n";
		return 1;
	}
	/* SIGTERM and SIGINT are waited for by one thread, which stops the
	 * server; blocked before gRPC starts its threads so none gets them. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, nullptr);

	IdentityService identity(config);
	ControllerService controller(config);
	NodeService node(config);
	grpc::ServerBuilder builder;
	builder.AddListeningPort("unix://" + endpoint, grpc::InsecureServerCredentials());
	builder.RegisterService(&identity);
	builder.RegisterService(&controller);
	builder.RegisterService(&node);
	/* Only root (kubelet, the sidecars) may ask for mounts. */
	mode_t old = umask(077);
	std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
	umask(old);
	if (!server) {
		std::cerr << "volfs-csi: cannot serve on " << endpoint << "\n";
		return 1;
	}
	std::cerr << "volfs-csi " << volfs_version << ": serving " << DRIVER_NAME << " on " << endpoint << " for node "
	          << config.node_id << " (volfs control socket " << config.socket << ")\n";
	std::thread waiter([&server, &stop] {
		int sig = 0;
		sigwait(&stop, &sig);
		std::cerr << "volfs-csi: " << strsignal(sig) << ", stopping\n";
		server->Shutdown();
	});
	server->Wait();
	waiter.join();
	unlink(endpoint.c_str());
	return 0;
}
