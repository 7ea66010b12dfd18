#pragma once
// What a thief who copies a terminal's data directory gets: the bytes of its database files,
// searched for members' phone numbers and birthdays and for credentials.

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace loyalty::test {

/// terminal.db and the credentials file, each with the WAL and shared-memory files beside it
/// (those that exist now): name -> bytes.
inline std::map<std::string, std::string> terminalFiles(const std::filesystem::path& dataDir) {
  std::map<std::string, std::string> files;
  for (const char* base : {"terminal.db", "credentials.db"}) {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      const std::filesystem::path p = dataDir / (std::string(base) + suffix);
      std::ifstream in(p, std::ios::binary);
      if (!in) continue;
      std::ostringstream bytes;
      bytes << in.rdbuf();
      files[p.filename().string()] = bytes.str();
    }
  }
  return files;
}

/// "FILE holds NEEDLE" for every needle found in any of the files.
inline std::vector<std::string> findIn(const std::map<std::string, std::string>& files,
                                       const std::vector<std::string>& needles) {
  std::vector<std::string> found;
  for (const auto& [name, bytes] : files) {
    for (const std::string& n : needles) {
      if (bytes.find(n) != std::string::npos) found.push_back(name + " holds " + n);
    }
  }
  return found;
}

/// The ways a Chinese mobile number (11 digits, "13812345678") is written and could be stored:
/// E.164, the national number, and the digit groups people type.
inline std::vector<std::string> phoneForms(const std::string& national) {
  const std::string a = national.substr(0, 3), b = national.substr(3, 4), c = national.substr(7);
  return {"+86" + national, national, a + " " + b + " " + c, a + "-" + b + "-" + c};
}

/// Permission bits of a file or directory (e.g. 0600), or -1 if it does not exist.
inline int modeOf(const std::filesystem::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 07777);
}

}  // namespace loyalty::test
