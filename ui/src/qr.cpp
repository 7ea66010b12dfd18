#include "loyalty/ui/qr.hpp"

#include <qrencode.h>

#include <memory>
#include <string>

namespace loyalty::ui {

QrCode encodeQr(std::string_view text) {
  const std::string data(text);
  const std::unique_ptr<QRcode, decltype(&QRcode_free)> code(
      QRcode_encodeString8bit(data.c_str(), 0, QR_ECLEVEL_M), &QRcode_free);
  QrCode out;
  if (!code) return out;
  out.size = code->width;
  out.dark.resize(static_cast<std::size_t>(code->width) * static_cast<std::size_t>(code->width));
  for (std::size_t i = 0; i < out.dark.size(); ++i) out.dark[i] = static_cast<std::uint8_t>(code->data[i] & 1);  // bit 0: dark
  return out;
}

}  // namespace loyalty::ui
