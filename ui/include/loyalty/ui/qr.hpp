#pragma once
/// @brief QR codes as a matrix of modules (libqrencode): the member's e-card on the customer
/// display.

#include <cstdint>
#include <string_view>
#include <vector>

namespace loyalty::ui {

struct QrCode {
  int size = 0;                     ///< modules per side; 0: nothing could be encoded
  std::vector<std::uint8_t> dark;   ///< size × size, row by row: 1 = a dark module
  bool isDark(int x, int y) const { return dark[static_cast<std::size_t>(y * size + x)] != 0; }
};

/// `text` as a QR code (8-bit mode, error correction M, the smallest version that holds it).
QrCode encodeQr(std::string_view text);

}  // namespace loyalty::ui
