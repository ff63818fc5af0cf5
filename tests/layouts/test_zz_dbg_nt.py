import time
from tests.layouts.test_notices_browser import sign_in, clock, data_dir, runtime, duo  # noqa
def test_dbg(duo, runtime, screenshots):
    sign_in(duo, "ada", "/notices")
    time.sleep(6)
    print("URL", duo.driver.current_url)
    print("BODY", duo.driver.find_element("css selector", "body").text[:1500])
    print([l for l in duo.get_logs() if 'tile' not in l['message']])
