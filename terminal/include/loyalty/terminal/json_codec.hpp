#pragma once
/// @brief JSON shapes of the service's results (docs/exec-cli.md), both directions.

#include <nlohmann/json.hpp>

#include "loyalty/terminal/counter_service.hpp"

namespace loyalty::terminal {

void to_json(nlohmann::json& j, const MemberView& m);
void to_json(nlohmann::json& j, const MemberDetail& d);
void to_json(nlohmann::json& j, const SaleResult& r);
void from_json(const nlohmann::json& j, SaleResult& r);
void to_json(nlohmann::json& j, const RedeemResult& r);
void from_json(const nlohmann::json& j, RedeemResult& r);
void to_json(nlohmann::json& j, const RefundResult& r);
void from_json(const nlohmann::json& j, RefundResult& r);
/// refund_preview and exchange (docs/exec-cli.md, "refunds by line and exchanges").
void to_json(nlohmann::json& j, const RefundPreview& p);
void to_json(nlohmann::json& j, const ExchangeResult& r);
void to_json(nlohmann::json& j, const AppliedPromotion& p);
void to_json(nlohmann::json& j, const HousekeepingResult& h);
void to_json(nlohmann::json& j, const HistoryEntry& e);
void to_json(nlohmann::json& j, const Stats& s);
void to_json(nlohmann::json& j, const VerifyReport& v);
/// export_member: the member object with the full phone number, the consent history, the log.
void to_json(nlohmann::json& j, const MemberExport& e);

}  // namespace loyalty::terminal
