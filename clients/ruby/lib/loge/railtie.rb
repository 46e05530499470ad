# frozen_string_literal: true

require "rails/railtie"
require "active_support/logger"
require "active_support/logger_silence"
require "loge/logger"

module Loge
  # Rails.logger.silence { } must quiet loge as it quiets the log file.
  Logger.include(ActiveSupport::LoggerSilence) unless Logger < ActiveSupport::LoggerSilence

  # Railtie: when config.loge.endpoint (or LOGE_ENDPOINT) is set, a
  # Loge::Logger is made at boot and Rails.logger broadcasts to it, so every
  # line Rails logs also goes to loge. The log file stays as it was.
  #
  #   # config/application.rb (or an environment file)
  #   config.loge.endpoint = "http://loge.internal:3000"   # or ENV LOGE_ENDPOINT
  #   config.loge.api_key  = ENV["LOGE_API_KEY"]           # the default too
  #   config.loge.labels   = { team: "payments" }          # added to app and env
  #   config.loge.options  = { batch_size: 500 }           # Loge::Logger keywords
  #
  # The logger is at config.loge.logger afterwards; it is closed (flushing
  # what is buffered, for up to config.loge.close_timeout seconds) at exit.
  class Railtie < ::Rails::Railtie
    config.loge = ActiveSupport::OrderedOptions.new
    config.loge.endpoint = nil # nil: ENV["LOGE_ENDPOINT"]; neither set: loge stays off
    config.loge.api_key = nil # nil: ENV["LOGE_API_KEY"]
    config.loge.labels = {} # merged over { app: <application name>, env: Rails.env }
    config.loge.level = nil # nil: Rails.logger's level (and follows it when changed)
    config.loge.options = {} # more Loge::Logger keywords
    config.loge.close_timeout = 5 # seconds Close may take at exit
    config.loge.logger = nil # set at boot when enabled

    # Runs after the bootstrap initializers, so Rails.logger exists.
    initializer "loge.broadcast" do |app|
      logger = Railtie.build_logger(app, app.config.loge, ENV)
      if logger
        Railtie.broadcast(::Rails.logger, logger)
        app.config.loge.logger = logger
        timeout = app.config.loge.close_timeout
        at_exit { logger.close(timeout: timeout) }
      end
    end

    # The Loge::Logger that cfg asks for, or nil when no endpoint is set.
    def self.build_logger(app, cfg, env)
      endpoint = cfg.endpoint.to_s.empty? ? env["LOGE_ENDPOINT"] : cfg.endpoint
      return nil if endpoint.to_s.empty?

      labels = { "app" => app_label(app), "env" => ::Rails.env.to_s }
      (cfg.labels || {}).each { |k, v| labels[k.to_s] = v.to_s }
      options = (cfg.options || {}).transform_keys(&:to_sym)
      options[:api_key] ||= cfg.api_key || env["LOGE_API_KEY"]
      level = cfg.level || ::Rails.logger&.level || ::Logger::DEBUG
      logger = Loge::Logger.new(endpoint, labels: labels, level: level, **options)
      # TaggedLogging keeps the request's tags in Rails.logger's formatter:
      # sharing it puts them in the JSON line as "tags".
      logger.formatter = ::Rails.logger.formatter if ::Rails.logger&.formatter.respond_to?(:current_tags)
      logger
    end

    # Makes target also write to logger: Rails 7.1+ has BroadcastLogger,
    # Rails 6.1 and 7.0 extend the logger with ActiveSupport::Logger.broadcast.
    def self.broadcast(target, logger)
      if target.respond_to?(:broadcast_to)
        target.broadcast_to(logger)
      else
        target.extend(ActiveSupport::Logger.broadcast(logger))
      end
    end

    def self.app_label(app)
      # Rails names an app after the module around its Application class.
      name = app.class.module_parent_name if app.class.respond_to?(:module_parent_name)
      name ||= app.class.name
      name.to_s.gsub(/([a-z\d])([A-Z])/, '\1_\2').downcase.gsub(/[^a-z0-9_]/, "_")
    end
  end
end
