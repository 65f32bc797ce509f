// The built-in providers' factories (each in <folder>/<type>_config.cpp, apart from the logic).
#pragma once

#include "channels/registry.hpp"

namespace dispatcher::channels {

std::unique_ptr<Provider> make_smtp(const ProviderEntry& entry, Context& ctx);
std::unique_ptr<Provider> make_twilio(const ProviderEntry& entry, Context& ctx);
std::unique_ptr<Provider> make_http_sms(const ProviderEntry& entry, Context& ctx);
std::unique_ptr<Provider> make_fcm(const ProviderEntry& entry, Context& ctx);
std::unique_ptr<Provider> make_apns(const ProviderEntry& entry, Context& ctx);

}  // namespace dispatcher::channels
