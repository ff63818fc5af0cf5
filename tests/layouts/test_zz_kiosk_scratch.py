import time
from tests.layouts.test_kiosk_browser import viewport, open_kiosk, clock, runtime, duo  # noqa

def test_shots(duo, runtime, screenshots):
    for size in [(1920,1080),(1080,1920)]:
        viewport(duo, *size)
        open_kiosk(duo)
        n = len(duo.find_elements(".cc-slide"))
        for i in range(n):
            duo.driver.execute_script(f"Date.now = () => {i}*3000 + 100;")
            time.sleep(1.0)
            duo.driver.save_screenshot(f"/tmp/scratch/s{size[0]}-{i}.png")
