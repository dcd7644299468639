// How pnet prints a space's limits and what it uses (show, show --json, top).
#pragma once

#include <cinttypes>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "personalnet/space.hpp"

namespace personalnet::cli {

// A value in steps of base with one-letter units: "512", then e.g. "12.0K" or "9.8k".
template <size_t N>
std::string scaled(double v, double base, const char* const (&units)[N], const char* format) {
    size_t u = 0;
    while (v >= base && u + 1 < N) {
        v /= base;
        ++u;
    }
    char buf[32];
    if (u == 0)
        std::snprintf(buf, sizeof buf, "%.0f", v);
    else
        std::snprintf(buf, sizeof buf, format, v, units[u]);
    return buf;
}

// Bytes in powers of 1024, as --memory takes them: "512", "12.0K", "1.5M", "3.2G", up to P.
inline std::string iec_bytes(double bytes) {
    static const char* const kUnits[] = {"", "K", "M", "G", "T", "P"};
    return scaled(bytes, 1024, kUnits, "%.1f%s");
}

// Bits per second in powers of 1000, as --bandwidth takes them: "800", "9.8k", "10M".
inline std::string si_rate(double bits) {
    static const char* const kUnits[] = {"", "k", "M", "G", "T"};
    return scaled(bits, 1000, kUnits, "%.3g%s");
}

// "1.5" CPUs from thousandths.
inline std::string cpus_text(uint32_t milli) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%u.%03u", milli / 1000, milli % 1000);
    std::string s = buf;
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
    return s;
}

// "cpu 1.5, memory 512.0M, pids 100, io weight 200, bandwidth 10M in / 2M out", or "none".
inline std::string limits_text(const ResourceLimits& l) {
    std::string t;
    auto add = [&t](const std::string& part) { t += (t.empty() ? "" : ", ") + part; };
    if (l.cpu_milli) add("cpu " + cpus_text(l.cpu_milli));
    if (l.memory_bytes) add("memory " + iec_bytes(static_cast<double>(l.memory_bytes)));
    if (l.pids) add("pids " + std::to_string(l.pids));
    if (l.io_weight) add("io weight " + std::to_string(l.io_weight));
    if (l.rate_in || l.rate_out)
        add("bandwidth " + (l.rate_in ? si_rate(static_cast<double>(l.rate_in)) + "bit/s" : "-") + " in / " +
            (l.rate_out ? si_rate(static_cast<double>(l.rate_out)) + "bit/s" : "-") + " out");
    return t.empty() ? "none" : t;
}

inline std::string json_count(int64_t v) { return v < 0 ? "null" : std::to_string(v); }

inline std::string limits_json(const ResourceLimits& l) {
    return "{\"cpu_milli\":" + std::to_string(l.cpu_milli) +
           ",\"memory_bytes\":" + std::to_string(l.memory_bytes) + ",\"pids\":" + std::to_string(l.pids) +
           ",\"io_weight\":" + std::to_string(l.io_weight) + ",\"rate_in\":" + std::to_string(l.rate_in) +
           ",\"rate_out\":" + std::to_string(l.rate_out) + "}";
}

// Counters this host cannot tell are null.
inline std::string usage_json(const ResourceUsage& u) {
    return "{\"cpu_usec\":" + json_count(u.cpu_usec) + ",\"memory_bytes\":" + json_count(u.memory_bytes) +
           ",\"memory_peak\":" + json_count(u.memory_peak) + ",\"processes\":" + json_count(u.processes) +
           ",\"rx_bytes\":" + json_count(u.rx_bytes) + ",\"rx_packets\":" + json_count(u.rx_packets) +
           ",\"tx_bytes\":" + json_count(u.tx_bytes) + ",\"tx_packets\":" + json_count(u.tx_packets) + "}";
}

}  // namespace personalnet::cli
