#include "admin.h"

#include <curl/curl.h>

#include <CLI/CLI.hpp>

#include <unistd.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "switchyard/core/crypto.h"

namespace switchyard::cli {

namespace {

struct Reply {
  long status = 0;
  std::string body;
  std::string error;  // transport error
};

size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

Reply call(const std::string& method, const std::string& url, const std::string& token, const std::string& body = "") {
  Reply r;
  CURL* easy = curl_easy_init();
  curl_slist* headers = nullptr;
  if (!token.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + token).c_str());
  headers = curl_slist_append(headers, "Accept: application/json");
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT, 60L);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error);
  if (method == "POST") {
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  } else if (method != "GET") {
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  const CURLcode rc = curl_easy_perform(easy);
  if (rc != CURLE_OK) {
    r.error = error[0] ? error : curl_easy_strerror(rc);
  } else {
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r.status);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(easy);
  return r;
}

// Left-aligned columns, two spaces apart.
void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], row[i].size());
    }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

std::string text(const nlohmann::json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_number_float()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", j.get<double>());
    return buf;
  }
  return j.dump();
}

// "[#########...........]  45%  450/1000 events, last 2026-11-25T10:00:00Z"
std::string progress_line(const nlohmann::json& r) {
  const uint64_t done = r.value("events_replayed", uint64_t{0}), total = r.value("events_total", uint64_t{0});
  const int width = 30;
  const int filled = total ? static_cast<int>(std::min<uint64_t>(done, total) * width / total)
                           : (r.value("state", "") == "COMPLETED" ? width : 0);
  const int pct = total ? static_cast<int>(std::min<uint64_t>(done, total) * 100 / total)
                        : (r.value("state", "") == "COMPLETED" ? 100 : 0);
  char head[64];
  std::snprintf(head, sizeof head, "] %3d%%  ", pct);
  std::string line = "[" + std::string(filled, '#') + std::string(width - filled, '.') + head + std::to_string(done) +
                     "/" + std::to_string(total) + " events";
  if (r.contains("last_replayed_time") && r["last_replayed_time"].is_string())
    line += ", last " + r["last_replayed_time"].get<std::string>();
  return line + "  " + r.value("state", "");
}

bool replay_over(const std::string& state) { return state == "COMPLETED" || state == "CANCELLED" || state == "FAILED"; }

int usage(const std::string& why) {
  std::cerr << "switchyard admin: " << why << "\nRun with --help for more information.\n";
  return 2;
}

// Prints a service refusal; returns the exit code 1.
int refused(const Reply& r, bool raw) {
  const nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
  if (raw) {
    std::cout << r.body << "\n";
  } else if (j.is_object() && j.contains("message")) {
    std::cerr << "error: " << text(j.value("code", nlohmann::json("Error"))) << ": " << text(j["message"]) << "\n";
    if (j.contains("problems"))
      for (const auto& p : j["problems"]) std::cerr << "  " << text(p) << "\n";
  } else {
    std::cerr << "error: HTTP " << r.status << "\n";
  }
  return 1;
}

// replay start|status|cancel NAME ...
int replay_command(const std::string& base, const std::string& token, bool raw, bool wait,
                   const std::vector<std::string>& words, const std::map<std::string, std::string>& args) {
  if (words.size() != 3) return usage("replay needs a subcommand (start, status, cancel) and a replay name");
  const std::string& sub = words[1];
  const std::string path = "/admin/replays/" + core::percent_encode(words[2]);
  Reply r;
  if (sub == "start") {
    for (const char* key : {"archive", "from", "to"})
      if (!args.count(key)) return usage(std::string("replay start needs --") + key);
    nlohmann::json body{{"name", words[2]},
                        {"archive", args.at("archive")},
                        {"start_time", args.at("from")},
                        {"end_time", args.at("to")}};
    if (args.count("rules")) {
      nlohmann::json rules = nlohmann::json::array();
      std::string list = args.at("rules");
      for (size_t at = 0; at <= list.size();) {
        const size_t comma = std::min(list.find(',', at), list.size());
        if (comma > at) rules.push_back(list.substr(at, comma - at));
        at = comma + 1;
      }
      body["rules"] = rules;
    }
    r = call("POST", base + "/admin/replays", token, body.dump());
  } else if (sub == "status") {
    r = call("GET", base + path, token);
  } else if (sub == "cancel") {
    r = call("POST", base + path + "/cancel", token);
  } else {
    return usage("unknown replay subcommand '" + sub + "'");
  }
  if (!r.error.empty()) {
    std::cerr << "switchyard admin: cannot reach " << base << ": " << r.error << "\n";
    return 3;
  }
  if (r.status < 200 || r.status > 299) return refused(r, raw);
  nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
  if (raw && !wait) {
    std::cout << r.body << "\n";
    return 0;
  }
  if (!wait || sub == "cancel") {
    std::cout << text(j["name"]) << ": " << text(j["state"]) << "  " << progress_line(j) << "\n";
    return 0;
  }
  // --wait: a progress bar, redrawn in place on a terminal, until the replay ends.
  const bool tty = isatty(STDOUT_FILENO);
  for (;;) {
    const std::string line = progress_line(j);
    if (tty) {
      std::cout << "\r" << line << "\033[K" << std::flush;
    } else {
      std::cout << line << "\n";
    }
    if (replay_over(j.value("state", ""))) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(tty ? 200 : 1000));
    r = call("GET", base + path, token);
    if (!r.error.empty()) {
      std::cerr << "\nswitchyard admin: cannot reach " << base << ": " << r.error << "\n";
      return 3;
    }
    if (r.status < 200 || r.status > 299) return refused(r, raw);
    j = nlohmann::json::parse(r.body, nullptr, false);
  }
  if (tty) std::cout << "\n";
  if (raw) std::cout << r.body << "\n";
  return j.value("state", "") == "COMPLETED" ? 0 : 1;
}

}  // namespace

CLI::App* add_admin_command(CLI::App& app, AdminArgs* args) {
  CLI::App* admin = app.add_subcommand("admin", "a client for the admin API");
  admin->footer(
      "The admin listener is --url, else $SWITCHYARD_ADMIN_URL, else http://127.0.0.1:8081.\n"
      "The bearer token (server.admin_token) is read from --token-file or $SWITCHYARD_ADMIN_TOKEN.\n"
      "Exit 0: done; 1: the service refused; 2: usage; 3: the service could not be reached.");
  admin->add_option("--url", args->url, "the admin listener, e.g. http://127.0.0.1:8081");
  admin->add_option("--token-file", args->token_file, "a file holding the admin token")->check(CLI::ExistingFile);
  admin->add_flag("--json", args->json, "print the API's answer as it is");
  admin->require_subcommand(1);
  admin->fallthrough();  // --url, --json, ... also after the command
  auto leaf = [&](const char* name, const char* help) {
    CLI::App* c = admin->add_subcommand(name, help);
    c->callback([args, name] { args->command = name; });
    return c;
  };
  auto named = [&](const char* name, const char* help) {
    CLI::App* c = leaf(name, help);
    c->add_option("NAME", args->name, "the destination")->required();
    return c;
  };
  auto digits = CLI::Validator(
      [](std::string& v) {
        return !v.empty() && v.find_first_not_of("0123456789") == std::string::npos
                   ? std::string()
                   : std::string("must be a whole number");
      },
      "NUMBER");
  leaf("rules", "rules and their targets");
  leaf("destinations", "destinations: state, queue, in flight, rate, DLQ");
  named("pause", "stop delivery to a destination (its queue is kept)");
  named("resume", "restart delivery to a destination");
  named("dlq", "dead-lettered deliveries of a destination")
      ->add_option("--limit", args->limit, "at most N")
      ->check(digits);
  named("redrive", "put dead-lettered deliveries back on the queue")
      ->add_option("--limit", args->limit, "at most N")
      ->check(digits);
  named("purge-dlq", "delete every dead-lettered delivery of a destination");
  leaf("reload", "reload the configuration file");
  leaf("archives", "archives: events kept, size, retention");
  leaf("replays", "replays and their progress");
  leaf("cluster", "cluster mode: nodes, partition owners, streams");
  CLI::App* replay = admin->add_subcommand("replay", "start, follow or cancel a replay");
  replay->require_subcommand(1);
  auto replay_leaf = [&](const char* name, const char* help) {
    CLI::App* c = replay->add_subcommand(name, help);
    c->callback([args, name] {
      args->command = "replay";
      args->replay = name;
    });
    c->add_option("NAME", args->name, "the replay")->required();
    return c;
  };
  CLI::App* start = replay_leaf("start", "replay the archived events whose time is in [FROM, TO)");
  start->add_option("--archive", args->archive, "the archive")->required();
  start->add_option("--from", args->from, "ISO 8601 start time")->required();
  start->add_option("--to", args->to, "ISO 8601 end time")->required();
  start->add_option("--rules", args->rules, "R1,R2: only these rules (default: every rule of the archive's bus)");
  start->add_flag("--wait", args->wait, "show a progress bar until the replay ends");
  replay_leaf("status", "a replay's state")->add_flag("--wait", args->wait, "show a progress bar until it ends");
  replay_leaf("cancel", "cancel a running replay");
  return admin;
}

int run_admin(const AdminArgs& args) {
  std::string base = !args.url.empty()                     ? args.url
                     : std::getenv("SWITCHYARD_ADMIN_URL") ? std::getenv("SWITCHYARD_ADMIN_URL")
                                                           : "http://127.0.0.1:8081";
  std::string token = std::getenv("SWITCHYARD_ADMIN_TOKEN") ? std::getenv("SWITCHYARD_ADMIN_TOKEN") : "";
  if (!args.token_file.empty()) {
    std::ifstream f(args.token_file);
    if (!f || !std::getline(f, token)) return usage("cannot read the token file " + args.token_file);
  }
  const bool raw = args.json, wait = args.wait;
  std::map<std::string, std::string> replay_args;
  if (!args.archive.empty()) replay_args["archive"] = args.archive;
  if (!args.from.empty()) replay_args["from"] = args.from;
  if (!args.to.empty()) replay_args["to"] = args.to;
  if (!args.rules.empty()) replay_args["rules"] = args.rules;
  const std::string& limit = args.limit;
  std::vector<std::string> words{args.command};
  if (args.command == "replay") words.push_back(args.replay);
  if (!args.name.empty()) words.push_back(args.name);
  if (words.empty()) return usage("missing command");
  while (!base.empty() && base.back() == '/') base.pop_back();
  curl_global_init(CURL_GLOBAL_DEFAULT);
  if (words[0] == "replay") return replay_command(base, token, raw, wait, words, replay_args);
  const std::string& cmd = words[0];
  const bool named = cmd == "pause" || cmd == "resume" || cmd == "dlq" || cmd == "redrive" || cmd == "purge-dlq";
  if (named && words.size() != 2) return usage(cmd + " needs one destination name");
  if (!named && words.size() != 1) return usage("unexpected argument '" + words[1] + "'");
  const std::string q = limit.empty() ? "" : "?limit=" + limit;
  std::string method = "GET", path;
  if (cmd == "rules") {
    path = "/admin/rules";
  } else if (cmd == "destinations") {
    path = "/admin/destinations";
  } else if (cmd == "pause" || cmd == "resume") {
    method = "POST";
    path = "/admin/destinations/" + core::percent_encode(words[1]) + "/" + cmd;
  } else if (cmd == "dlq") {
    path = "/admin/dlq/" + core::percent_encode(words[1]) + q;
  } else if (cmd == "redrive") {
    method = "POST";
    path = "/admin/dlq/" + core::percent_encode(words[1]) + "/redrive" + q;
  } else if (cmd == "purge-dlq") {
    method = "DELETE";
    path = "/admin/dlq/" + core::percent_encode(words[1]);
  } else if (cmd == "reload") {
    method = "POST";
    path = "/admin/reload";
  } else if (cmd == "archives") {
    path = "/admin/archives";
  } else if (cmd == "replays") {
    path = "/admin/replays";
  } else if (cmd == "cluster") {
    path = "/admin/cluster";
  } else {
    return usage("unknown command '" + cmd + "'");
  }

  const Reply r = call(method, base + path, token);
  if (!r.error.empty()) {
    std::cerr << "switchyard admin: cannot reach " << base << ": " << r.error << "\n";
    return 3;
  }
  if (r.status < 200 || r.status > 299) return refused(r, raw);
  const nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
  if (raw || j.is_discarded()) {
    std::cout << r.body << "\n";
    return 0;
  }
  if (cmd == "cluster") {
    std::string nodes;
    for (const auto& n : j["nodes"]) nodes += (nodes.empty() ? "" : ", ") + text(n);
    std::cout << "node " << text(j["node"]) << "; live nodes: " << nodes << "\n";
    std::vector<std::vector<std::string>> streams{{"STREAM", "LEADER", "MESSAGES"}};
    for (const auto& s : j["streams"]) streams.push_back({text(s["name"]), text(s["leader"]), text(s["messages"])});
    print_table(streams);
    std::vector<std::vector<std::string>> rows{{"PARTITION", "OWNER", "REVISION"}};
    for (const auto& p : j["partitions"]) rows.push_back({text(p["partition"]), text(p["owner"]), text(p["revision"])});
    print_table(rows);
  } else if (cmd == "rules") {
    std::vector<std::vector<std::string>> rows{{"BUS", "RULE", "TARGET", "DESTINATION"}};
    for (const auto& rule : j["rules"])
      for (const auto& t : rule["targets"])
        rows.push_back({text(rule["bus"]), text(rule["name"]), text(t["id"]), text(t["destination"])});
    print_table(rows);
  } else if (cmd == "destinations") {
    std::vector<std::vector<std::string>> rows{
        {"DESTINATION", "STATE", "QUEUED", "IN_FLIGHT", "RATE/S", "DELIVERED", "DEAD_LETTERED", "DLQ"}};
    for (const auto& d : j["destinations"])
      rows.push_back(
          {text(d["name"]),
           text(d["state"]) + (d.contains("connection_state") ? " (" + text(d["connection_state"]) + ")" : ""),
           text(d["queued"]) + (d.value("backlog_on_disk", false) ? "+" : ""), text(d["in_flight"]),
           text(d["delivery_rate_per_second"]), text(d["delivered"]), text(d["dead_lettered"]), text(d["dlq_depth"])});
    print_table(rows);
  } else if (cmd == "dlq") {
    std::cout << j["dlq_depth"].get<uint64_t>() << " dead-lettered deliveries for " << words[1] << "\n";
    std::vector<std::vector<std::string>> rows{
        {"DEAD_LETTERED_AT", "EVENT_ID", "RULE", "ATTEMPTS", "ERROR_CODE", "ERROR_MESSAGE"}};
    for (const auto& e : j["entries"])
      rows.push_back({text(e["dead_lettered_at"]), text(e["event_id"]), text(e["rule"]), text(e["attempts"]),
                      text(e["attributes"]["ERROR_CODE"]), text(e["attributes"]["ERROR_MESSAGE"])});
    print_table(rows);
  } else if (cmd == "redrive") {
    std::cout << "redriven " << j["redriven"] << ", still dead-lettered " << j["remaining"] << "\n";
  } else if (cmd == "purge-dlq") {
    std::cout << "purged " << j["purged"] << ", still dead-lettered " << j["remaining"] << "\n";
  } else if (cmd == "pause" || cmd == "resume") {
    std::cout << text(j["name"]) << ": " << text(j["state"]) << "\n";
  } else if (cmd == "archives") {
    std::vector<std::vector<std::string>> rows{
        {"ARCHIVE", "BUS", "EVENTS", "BYTES", "RETENTION_DAYS", "EVENT_PATTERN"}};
    for (const auto& a : j["archives"])
      rows.push_back({text(a["name"]), text(a["bus"]), text(a["event_count"]), text(a["size_bytes"]),
                      a["retention_days"] == 0 ? "forever" : text(a["retention_days"]),
                      a.contains("event_pattern") ? text(a["event_pattern"]) : "(all events)"});
    print_table(rows);
  } else if (cmd == "replays") {
    std::vector<std::vector<std::string>> rows{{"REPLAY", "ARCHIVE", "STATE", "REPLAYED", "TOTAL", "LAST_REPLAYED"}};
    for (const auto& r : j["replays"])
      rows.push_back({text(r["name"]), text(r["archive"]), text(r["state"]), text(r["events_replayed"]),
                      text(r["events_total"]),
                      r["last_replayed_time"].is_null() ? "-" : text(r["last_replayed_time"])});
    print_table(rows);
  } else if (cmd == "reload") {
    std::cout << "reloaded " << j["config"].get<std::string>() << ": " << j["rules"] << " rules, "
              << j["api_destinations"] << " destinations\n";
    for (const auto& k : j["restart_required"]) std::cout << "  needs a restart to apply: " << text(k) << "\n";
    for (const auto& t : j["removed_targets"]) std::cout << "  removed target: " << text(t) << "\n";
    for (const auto& w : j["kept_deliveries_without_destination"])
      std::cout << "  kept " << w["queued"] << " deliveries for the unconfigured destination " << text(w["destination"])
                << "\n";
  }
  return 0;
}

}  // namespace switchyard::cli
