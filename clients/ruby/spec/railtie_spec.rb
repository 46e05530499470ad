# frozen_string_literal: true

require "open3"
require "rbconfig"
require "tmpdir"

# Boots spec/support/rails_app.rb, a real Rails application on Debian's
# railties, in a child process for each case.
RSpec.describe "Loge::Railtie" do
  let(:fake) { FakeLoge.new }
  let(:dir) { Dir.mktmpdir("loge-railtie") }

  after do
    fake.stop
    FileUtils.remove_entry(dir)
  end

  def boot(env)
    app = File.expand_path("support/rails_app.rb", __dir__)
    env = { "APP_LOG" => File.join(dir, "app.log"), "RAILS_ENV" => "test", "LOGE_ENDPOINT" => nil }.merge(env)
    out, err, status = Open3.capture3(env, RbConfig.ruby, app, chdir: dir)
    expect(status).to be_success, "rails app failed:\n#{out}\n#{err}"
    JSON.parse(out.lines.last)
  end

  def records
    fake.records.map { |r| [r[:labels], JSON.parse(r[:line])] }
  end

  it "broadcasts Rails.logger to loge when LOGE_ENDPOINT is set" do
    expect(boot("LOGE_ENDPOINT" => fake.url)).to eq("enabled" => true, "level" => ::Logger::INFO)
    labels = { "app" => "shop", "env" => "test", "team" => "payments" }
    expect(records).to eq([
                            [labels.merge("level" => "info"), { "msg" => "hello from rails" }],
                            [labels.merge("level" => "warn"), { "msg" => "tagged line", "tags" => %w[req-1 user-7] }],
                            [labels.merge("level" => "error"), { "msg" => "after silence" }]
                          ])
    # The log file still gets every line it got before.
    expect(File.read(File.join(dir, "app.log"))).to include("hello from rails", "[req-1] [user-7] tagged line")
  end

  it "broadcasts when config.loge.endpoint is set" do
    expect(boot("CONFIG_ENDPOINT" => fake.url)).to include("enabled" => true)
    expect(records.map { |_, line| line["msg"] }).to contain_exactly("hello from rails", "tagged line",
                                                                        "after silence")
  end

  it "stays off without an endpoint" do
    expect(boot({})).to eq("enabled" => false, "level" => nil)
    expect(fake.requests).to be_empty
    expect(File.read(File.join(dir, "app.log"))).to include("hello from rails")
  end
end
