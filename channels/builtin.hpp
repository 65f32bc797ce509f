// The built-in providers' factories (each in <folder>/<type>_config.cpp, apart from the logic).
#pragma once

#include "channels/registry.hpp"

namespace dispatcher::channels {

std::unique_ptr<Provider> make_smtp(const YAML::Node& entry, const std::string& path, const std::string& name, Context& ctx);
std::unique_ptr<Provider> make_twilio(const YAML::Node& entry, const std::string& path, const std::string& name, Context& ctx);
std::unique_ptr<Provider> make_http_sms(const YAML::Node& entry, const std::string& path, const std::string& name, Context& ctx);
std::unique_ptr<Provider> make_fcm(const YAML::Node& entry, const std::string& path, const std::string& name, Context& ctx);
std::unique_ptr<Provider> make_apns(const YAML::Node& entry, const std::string& path, const std::string& name, Context& ctx);

}  // namespace dispatcher::channels
