import time, json
from selenium.webdriver.common.by import By
from tests.layouts.test_kiosk_offline import server, chrome, wait_until, kiosk_class  # noqa

WRAP = """
window.__log = [];
const orig = window.fetch;
window.fetch = function(url, opts) {
  const t = Date.now();
  return orig.apply(this, arguments).then(r => {
    r.clone().text().then(b => window.__log.push([t, String(url).slice(0,40), r.status, b.slice(0, 200)]));
    return r;
  }, e => { window.__log.push([t, String(url).slice(0,40), 'ERR', String(e)]); throw e; });
};
"""

def test_debug(server, chrome):
    chrome.driver.get(f"{server.url}/kiosk?id=platform-9")
    wait_until(lambda: chrome.driver.find_elements(By.CSS_SELECTOR, ".cc-slide.cc-active"), 30, "k")
    chrome.driver.execute_script(WRAP)
    server.stop()
    wait_until(lambda: "cc-offline" in kiosk_class(chrome), 15, "off")
    time.sleep(3)
    print("OFF", chrome.driver.execute_script("return window.__log.slice(-3)"))
    server.start()
    import requests
    print("PY", requests.get(server.url + "/health", timeout=10).status_code)
    chrome.driver.set_script_timeout(30)
    print("JS", chrome.driver.execute_async_script("""
      const done = arguments[arguments.length-1];
      fetch('/health').then(r => done('ok ' + r.status), e => done('err ' + e));"""))
    print("JS2", chrome.driver.execute_async_script("""
      const done = arguments[arguments.length-1];
      fetch('/health', {method: 'POST'}).then(r => done('ok ' + r.status), e => done('err ' + e));"""))
    for i in range(3):
        time.sleep(2)
        print(i, chrome.driver.execute_script("return window.__log.slice(-3)"))
