# frozen_string_literal: true

# A minimal Rails application, booted in a child process by railtie_spec.rb
# (a Rails app can be initialised only once per process). It logs through
# Rails.logger and prints what the Railtie set up as one JSON line; loge's
# endpoint comes from LOGE_ENDPOINT or CONFIG_ENDPOINT.
require "json"
require "logger"
require "rails"
$LOAD_PATH.unshift(File.expand_path("../../lib", __dir__))
require "loge"

module Shop
  class Application < Rails::Application
    config.root = __dir__
    config.eager_load = false
    config.log_level = :info
    config.logger = ActiveSupport::TaggedLogging.new(ActiveSupport::Logger.new(ENV.fetch("APP_LOG")))
    config.secret_key_base = "x" * 64
    config.loge.endpoint = ENV["CONFIG_ENDPOINT"] if ENV["CONFIG_ENDPOINT"]
    config.loge.labels = { team: "payments" }
    config.loge.options = { batch_interval: 3600 }
  end
end

Shop::Application.initialize!
Rails.logger.info("hello from rails")
Rails.logger.tagged("req-1", "user-7") { Rails.logger.warn("tagged line") }
Rails.logger.debug("below the level")
Rails.logger.silence { Rails.logger.info("silenced") }
Rails.logger.error("after silence")
loge = Rails.application.config.loge.logger
puts JSON.generate("enabled" => !loge.nil?, "level" => loge&.level)
# The Railtie's at_exit closes the logger, delivering what is buffered.
