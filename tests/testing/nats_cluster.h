#pragma once

// Real nats-server processes with JetStream on loopback for tests: a
// cluster of N nodes (or one), each with its own store directory and free
// ports, started, killed with SIGKILL and restarted by the test. Waits
// until JetStream answers before a test goes on.

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace switchyard::testing {

class NatsCluster {
 public:
  explicit NatsCluster(int nodes = 3) : dir_(make_dir()) {
    for (int i = 0; i < nodes; ++i) nodes_.push_back({free_port(), free_port(), 0});
    for (int i = 0; i < nodes; ++i) write_config(i);
    for (int i = 0; i < nodes; ++i) start(i);
  }
  ~NatsCluster() {
    for (int i = 0; i < static_cast<int>(nodes_.size()); ++i) kill(i);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  NatsCluster(const NatsCluster&) = delete;
  NatsCluster& operator=(const NatsCluster&) = delete;

  int size() const { return static_cast<int>(nodes_.size()); }
  std::string url(int i) const { return "nats://127.0.0.1:" + std::to_string(nodes_[i].client_port); }
  std::vector<std::string> urls() const {
    std::vector<std::string> out;
    for (int i = 0; i < size(); ++i) out.push_back(url(i));
    return out;
  }

  // SIGKILL: no goodbye to the cluster, as a crashed machine.
  void kill(int i) {
    if (nodes_[i].pid <= 0) return;
    ::kill(nodes_[i].pid, SIGKILL);
    waitpid(nodes_[i].pid, nullptr, 0);
    nodes_[i].pid = 0;
  }

  // Starts node i (again), with its store as it was left.
  void start(int i) {
    const std::string config = (dir_ / ("n" + std::to_string(i) + ".conf")).string();
    const std::string log = (dir_ / ("n" + std::to_string(i) + ".log")).string();
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      if (freopen(log.c_str(), "a", stderr) == nullptr || freopen(log.c_str(), "a", stdout) == nullptr) _exit(126);
      execlp("nats-server", "nats-server", "-c", config.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    nodes_[i].pid = pid;
    wait_for_port(nodes_[i].client_port);
  }

  bool running(int i) const { return nodes_[i].pid > 0; }

 private:
  struct Node {
    int client_port;
    int cluster_port;
    pid_t pid;
  };

  static std::filesystem::path make_dir() {
    std::string templ = (std::filesystem::temp_directory_path() / "sy-nats-XXXXXX").string();
    if (mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    return templ;
  }

  static int free_port() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw std::runtime_error("no free port");
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    close(fd);
    return ntohs(addr.sin_port);
  }

  static void wait_for_port(int port) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < until) {
      const int fd = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = htons(static_cast<uint16_t>(port));
      const bool up = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
      close(fd);
      if (up) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("nats-server did not listen on port " + std::to_string(port));
  }

  void write_config(int i) const {
    std::ofstream f(dir_ / ("n" + std::to_string(i) + ".conf"));
    f << "server_name: n" << i << "\n"
      << "listen: 127.0.0.1:" << nodes_[i].client_port << "\n"
      << "jetstream { store_dir: \"" << (dir_ / ("store" + std::to_string(i))).string() << "\" }\n";
    if (nodes_.size() > 1) {
      f << "cluster {\n  name: sy\n  listen: 127.0.0.1:" << nodes_[i].cluster_port << "\n  routes: [\n";
      for (size_t j = 0; j < nodes_.size(); ++j)
        if (static_cast<int>(j) != i) f << "    nats-route://127.0.0.1:" << nodes_[j].cluster_port << "\n";
      f << "  ]\n}\n";
    }
  }

  std::filesystem::path dir_;
  std::vector<Node> nodes_;
};

}  // namespace switchyard::testing
