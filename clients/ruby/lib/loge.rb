# frozen_string_literal: true

# loge: ship Ruby and Rails logs to a loge server. Standard library only.
#
#   require "loge"
#   logger = Loge::Logger.new("http://localhost:3000", labels: { app: "shop" })
#
# In a Rails app the Railtie (loaded here when Rails is) broadcasts
# Rails.logger to loge once config.loge.endpoint or LOGE_ENDPOINT is set.
require "loge/version"
require "loge/client"
require "loge/logger"
require "loge/railtie" if defined?(::Rails::Railtie)
