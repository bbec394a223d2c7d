"""Messages shown to volunteers and planners, in Vietnamese (default) and English."""

from __future__ import annotations

from typing import Any

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"

MESSAGES: dict[str, dict[str, str]] = {
    "required": {
        "vi": "Bắt buộc trả lời câu này.",
        "en": "This question is required.",
    },
    "missing": {
        "vi": "Thiếu thông tin bắt buộc.",
        "en": "This field is required.",
    },
    "not_integer": {
        "vi": "Phải là một số nguyên, ví dụ 4.",
        "en": "Must be a whole number, for example 4.",
    },
    "not_number": {
        "vi": "Phải là một số, ví dụ 2.5.",
        "en": "Must be a number, for example 2.5.",
    },
    "not_text": {"vi": "Phải là chữ.", "en": "Must be text."},
    "nul_character": {
        "vi": "Có ký tự không hợp lệ (NUL) trong câu trả lời.",
        "en": "The answer contains an invalid character (NUL).",
    },
    "text_too_long": {
        "vi": "Quá dài (tối đa {max} ký tự).",
        "en": "Too long (at most {max} characters).",
    },
    "invalid_choice": {
        "vi": "Lựa chọn '{value}' không có trong danh sách. Chọn một trong: {allowed}.",
        "en": "'{value}' is not one of the choices. Choose one of: {allowed}.",
    },
    "constraint": {
        "vi": "Câu trả lời không hợp lệ.",
        "en": "This answer is not allowed.",
    },
    "not_relevant": {
        "vi": "Câu này không áp dụng với các câu trả lời khác ({condition}); hãy bỏ trống.",
        "en": "This question does not apply given the other answers ({condition}); leave it empty.",
    },
    "unknown_question": {
        "vi": "Biểu mẫu '{form}' không có câu hỏi '{name}'.",
        "en": "Form '{form}' has no question '{name}'.",
    },
    "unknown_form": {
        "vi": "Không có biểu mẫu '{form}'. Hãy cập nhật ứng dụng để tải biểu mẫu mới.",
        "en": "There is no form '{form}'. Update the app to get the current forms.",
    },
    "unknown_form_version": {
        "vi": "Biểu mẫu '{form}' không có phiên bản '{version}'. Các phiên bản: {versions}.",
        "en": "Form '{form}' has no version '{version}'. Known versions: {versions}.",
    },
    "invalid_geopoint": {
        "vi": "Tọa độ không hợp lệ: cần 'vĩ độ kinh độ [độ cao] [độ chính xác]'.",
        "en": "Not a valid location: expected 'lat lon [altitude] [accuracy]'.",
    },
    "invalid_geoshape": {
        "vi": "Ranh giới không hợp lệ: cần ít nhất {min} điểm.",
        "en": "Not a valid boundary: at least {min} points are needed.",
    },
    "invalid_date": {
        "vi": "Ngày không hợp lệ (định dạng YYYY-MM-DD).",
        "en": "Not a valid date (format YYYY-MM-DD).",
    },
    "invalid_datetime": {
        "vi": "Thời điểm không hợp lệ (định dạng ISO 8601, ví dụ 2026-11-26T09:30:00+07:00).",
        "en": "Not a valid time (ISO 8601, for example 2026-11-26T09:30:00+07:00).",
    },
    "lat_range": {
        "vi": "Vĩ độ phải nằm trong khoảng -90 đến 90 (nhận được {value}).",
        "en": "Latitude must be between -90 and 90 (got {value}).",
    },
    "lon_range": {
        "vi": "Kinh độ phải nằm trong khoảng -180 đến 180 (nhận được {value}).",
        "en": "Longitude must be between -180 and 180 (got {value}).",
    },
    "lat_lon_swapped": {
        "vi": "Vĩ độ và kinh độ có vẻ bị đảo ngược (vĩ độ {lat}, kinh độ {lon}). "
        "Ở Việt Nam vĩ độ khoảng 8-24, kinh độ khoảng 102-110.",
        "en": "Latitude and longitude look swapped (lat {lat}, lon {lon}). "
        "In Vietnam latitude is about 8-24 and longitude about 102-110.",
    },
    "null_island": {
        "vi": "Chưa có vị trí GPS (0, 0). Hãy chờ điện thoại bắt được GPS rồi thử lại.",
        "en": "No GPS fix (0, 0). Wait for the phone to get a GPS position and try again.",
    },
    "accuracy_negative": {
        "vi": "Độ chính xác GPS không thể âm (nhận được {value} m).",
        "en": "GPS accuracy cannot be negative (got {value} m).",
    },
    "collected_in_future": {
        "vi": "Thời điểm khảo sát ({value}) xa hơn một năm trong tương lai. "
        "Kiểm tra ngày giờ của điện thoại.",
        "en": "The survey time ({value}) is more than a year in the future. "
        "Check the phone's date and time.",
    },
    "collected_too_old": {
        "vi": "Thời điểm khảo sát ({value}) quá cũ. Kiểm tra ngày giờ của điện thoại.",
        "en": "The survey time ({value}) is too far in the past. Check the phone's date and time.",
    },
    "invalid_uuid": {
        "vi": "Mã khảo sát phải là một UUID (ví dụ 0b6f5c1e-...).",
        "en": "The survey id must be a UUID (for example 0b6f5c1e-...).",
    },
    "wrong_type": {
        "vi": "Sai kiểu dữ liệu: cần {expected}.",
        "en": "Wrong type: expected {expected}.",
    },
    "unknown_field": {
        "vi": "Trường '{name}' không được hỗ trợ.",
        "en": "Unknown field '{name}'.",
    },
    "invalid_json": {
        "vi": "Dữ liệu gửi lên không phải JSON hợp lệ: {reason}.",
        "en": "The request body is not valid JSON: {reason}.",
    },
    "body_too_large": {
        "vi": "Dữ liệu gửi lên quá lớn (tối đa {max} byte).",
        "en": "The request body is too large (at most {max} bytes).",
    },
    "batch_too_large": {
        "vi": "Một lần gửi tối đa {max} khảo sát (nhận được {count}).",
        "en": "At most {max} surveys per batch (got {count}).",
    },
    "validation_failed": {
        "vi": "Dữ liệu chưa hợp lệ; xem lỗi của từng trường.",
        "en": "Not valid; see the error for each field.",
    },
    "conflict": {
        "vi": "Đã có một khảo sát khác với cùng mã {id}. Khảo sát đã lưu không bị thay đổi; "
        "hãy tạo khảo sát mới thay vì sửa khảo sát đã gửi.",
        "en": "A different survey with the same id {id} is already stored. The stored survey "
        "was not changed; start a new survey instead of editing a sent one.",
    },
    "not_found": {
        "vi": "Không tìm thấy {what}.",
        "en": "{what} was not found.",
    },
    "ward_not_found": {
        "vi": "Không tìm thấy phường/xã số {id}.",
        "en": "Ward {id} was not found.",
    },
    "survey_not_found": {
        "vi": "Không tìm thấy phiếu khảo sát {id}.",
        "en": "Survey {id} was not found.",
    },
    "bad_query": {
        "vi": "Tham số không hợp lệ.",
        "en": "Invalid query parameter.",
    },
    "unknown_city": {
        "vi": "Không có thành phố '{city}'.",
        "en": "There is no city '{city}'.",
    },
    "attachment_conflict": {
        "vi": "Khảo sát {id} đã có một ảnh khác tên '{filename}'. Ảnh đã lưu không bị thay đổi; "
        "hãy đặt tên khác cho ảnh mới.",
        "en": "Survey {id} already has a different photo named '{filename}'. The stored photo "
        "was not changed; give the new photo another name.",
    },
    "unsupported_media_type": {
        "vi": "Chỉ nhận ảnh JPEG, PNG hoặc WebP ({allowed}).",
        "en": "Only JPEG, PNG or WebP images are accepted ({allowed}).",
    },
    "invalid_filename": {
        "vi": "Tên tệp '{filename}' không hợp lệ: chỉ dùng chữ không dấu, số, dấu chấm, "
        "gạch ngang và gạch dưới (tối đa 128 ký tự).",
        "en": "The file name '{filename}' is not allowed: use only letters, digits, dot, dash "
        "and underscore (at most 128 characters).",
    },
    "empty_upload": {
        "vi": "Tệp gửi lên bị rỗng.",
        "en": "The uploaded file is empty.",
    },
    "image_mismatch": {
        "vi": "Nội dung tệp không phải ảnh {type}.",
        "en": "The file content is not a {type} image.",
    },
    "server_busy": {
        "vi": "Máy chủ đang bận với một lần gửi khác. Dữ liệu vẫn còn trên điện thoại; "
        "hãy gửi lại sau ít giây.",
        "en": "The server was busy with another upload. Your data is still on the phone; "
        "send again in a few seconds.",
    },
    "database_unavailable": {
        "vi": "Máy chủ tạm thời không kết nối được cơ sở dữ liệu. Dữ liệu vẫn còn trên điện "
        "thoại; hãy gửi lại sau.",
        "en": "The server cannot reach its database right now. Your data is still on the "
        "phone; send again later.",
    },
    "exports_busy": {
        "vi": "Máy chủ đang xuất nhiều lớp dữ liệu cùng lúc. Hãy tải lại sau ít giây.",
        "en": "The server is busy with other exports. Download again in a few seconds.",
    },
    "internal_error": {
        "vi": "Lỗi máy chủ. Dữ liệu của bạn vẫn còn trên điện thoại; hãy thử gửi lại sau.",
        "en": "Server error. Your data is still on the phone; try sending again later.",
    },
    # Accounts and roles
    "sign_in_required": {
        "vi": "Cần đăng nhập. Hãy đăng nhập lại; các phiếu chưa gửi vẫn còn trên điện thoại.",
        "en": "Please sign in again; surveys not yet sent stay on the phone.",
    },
    "bad_credentials": {
        "vi": "Sai tên đăng nhập hoặc mật khẩu.",
        "en": "Wrong username or password.",
    },
    "bad_enrolment": {
        "vi": "Mã đăng ký điện thoại không dùng được (đã dùng hoặc hết hạn). Xin mã mới.",
        "en": "This phone enrolment code cannot be used (used or expired). Ask for a new one.",
    },
    "too_many_sign_ins": {
        "vi": "Đăng nhập sai quá nhiều lần. Thử lại sau {minutes} phút.",
        "en": "Too many failed sign-ins. Try again in {minutes} minutes.",
    },
    "not_allowed": {
        "vi": "Vai trò của bạn không được làm việc này.",
        "en": "Your role does not allow this.",
    },
    "user_not_found": {"vi": "Không tìm thấy người dùng {id}.", "en": "User {id} was not found."},
    "grant_not_found": {"vi": "Không tìm thấy vai trò {id}.", "en": "Role {id} was not found."},
    "device_not_found": {
        "vi": "Không tìm thấy điện thoại {id}.",
        "en": "Phone {id} was not found.",
    },
    "file_not_found": {
        "vi": "Không tìm thấy tệp '{filename}'.",
        "en": "File '{filename}' was not found.",
    },
    "password_too_short": {
        "vi": "Mật khẩu cần ít nhất {min} ký tự.",
        "en": "The password needs at least {min} characters.",
    },
    "invalid_username": {
        "vi": "Tên đăng nhập chỉ gồm chữ thường không dấu, số, dấu chấm, gạch ngang (2–64 ký tự).",
        "en": "A username has 2-64 lowercase letters, digits, dots, dashes or underscores.",
    },
    "username_taken": {
        "vi": "Tên đăng nhập '{username}' đã có người dùng.",
        "en": "The username '{username}' is taken.",
    },
    "role_has_no_place": {
        "vi": "Quản trị quốc gia không gắn với thành phố hay phường nào.",
        "en": "A national admin has no city or ward.",
    },
    "role_is_city_wide": {
        "vi": "Vai trò này áp dụng cho cả thành phố, không cho một phường.",
        "en": "This role is for a whole city, not a ward.",
    },
    "comment_required": {
        "vi": "Cần ghi lý do để tình nguyện viên biết phải sửa gì.",
        "en": "Write a comment so the volunteer knows what to fix.",
    },
    "settlement_not_found": {
        "vi": "Không tìm thấy khu dân cư số {id}.",
        "en": "Settlement {id} was not found.",
    },
    "not_correctable": {
        "vi": "Phiếu đã được duyệt xong (trạng thái: {status}); không sửa được nữa.",
        "en": "This survey's review is done (status: {status}); it can no longer be corrected.",
    },
    "id_mismatch": {
        "vi": "Mã phiếu trong nội dung khác với mã {id} trong địa chỉ.",
        "en": "The survey id in the body differs from {id} in the address.",
    },
    "csrf_failed": {
        "vi": "Phiên làm việc không hợp lệ. Tải lại trang rồi thử lại.",
        "en": "The page's session check failed. Reload the page and try again.",
    },
    # Server-rendered pages (app/templates)
    "page.app_name": {"vi": "Bản đồ CDF", "en": "CDF map"},
    "page.sign_in": {"vi": "Đăng nhập", "en": "Sign in"},
    "page.sign_out": {"vi": "Đăng xuất", "en": "Sign out"},
    "page.username": {"vi": "Tên đăng nhập", "en": "Username"},
    "page.password": {"vi": "Mật khẩu", "en": "Password"},
    "page.signed_in_as": {"vi": "Đã đăng nhập:", "en": "Signed in as"},
    "page.what_you_can_do": {"vi": "Bạn có thể", "en": "What you can do"},
    "page.phone_app": {
        "vi": "Ứng dụng khảo sát trên điện thoại",
        "en": "The phone survey app",
    },
    "page.city_map": {"vi": "Bản đồ thành phố", "en": "City map"},
    "page.ward_map": {"vi": "Bản đồ phường", "en": "Ward map"},
    "page.review": {"vi": "Duyệt phiếu khảo sát", "en": "Review surveys"},
    "page.admin": {
        "vi": "Quản trị: người dùng, vai trò, địa bàn",
        "en": "Admin: people, roles, places",
    },
    "page.api_docs": {"vi": "Tài liệu API", "en": "API documentation"},
    "page.role.volunteer": {"vi": "Tình nguyện viên", "en": "Volunteer"},
    "page.role.ward_leader": {"vi": "Trưởng khu phố / phường", "en": "Ward leader"},
    "page.role.planner": {"vi": "Cán bộ quy hoạch", "en": "Planner"},
    "page.role.city_admin": {"vi": "Quản trị thành phố", "en": "City admin"},
    "page.role.national_admin": {"vi": "Quản trị quốc gia", "en": "National admin"},
    "page.sign_in_hint": {
        "vi": "Tình nguyện viên: đăng ký điện thoại bằng mã QR do cán bộ quản trị cấp, "
        "không cần mật khẩu.",
        "en": "Volunteers: enrol your phone with the QR code an admin gives you; "
        "no password needed.",
    },
    # The review page (app/api/review_page.py, static/review/review.js)
    "page.start_page": {"vi": "Trang đầu", "en": "Start page"},
    "page.review_ward": {"vi": "Phường/xã", "en": "Ward"},
    "page.review_open": {"vi": "Mở", "en": "Open"},
    "page.review_queue": {"vi": "Phiếu chờ duyệt", "en": "Surveys waiting for review"},
    "page.review_map": {
        "vi": "Bản đồ: vị trí của phiếu đang chọn, ranh giới phường và khu dân cư",
        "en": "Map: the selected survey's point, the ward and settlement boundaries",
    },
    "page.review_bulk_title": {"vi": "Duyệt cả khu dân cư", "en": "Approve a whole settlement"},
    "page.review_bulk_hint": {
        "vi": "Duyệt một lần mọi phiếu chờ duyệt không có cảnh báo của một khu dân cư; "
        "phiếu có cảnh báo ở lại để xem kỹ.",
        "en": "Approve at once every waiting survey of a settlement that has no flags; "
        "flagged surveys stay for a closer look.",
    },
    "page.review_volunteers": {"vi": "Theo tình nguyện viên", "en": "By volunteer"},
    "page.review_col_volunteer": {"vi": "Tình nguyện viên", "en": "Volunteer"},
    "page.review_col_waiting": {"vi": "Chờ duyệt", "en": "Waiting"},
    "page.review_col_approved": {"vi": "Đã duyệt", "en": "Approved"},
    "page.review_col_sent_back": {"vi": "Trả lại để sửa", "en": "Sent back"},
    "page.review_col_rejected": {"vi": "Từ chối", "en": "Rejected"},
    "page.review_col_flagged": {"vi": "Có cảnh báo", "en": "Flagged"},
    "page.review_confirm": {"vi": "Đồng ý", "en": "Confirm"},
    "page.review_cancel": {"vi": "Hủy", "en": "Cancel"},
    "page.review_forbidden_title": {"vi": "Không có quyền duyệt", "en": "No review role"},
    "page.review_forbidden": {
        "vi": "Chỉ trưởng phường và quản trị thành phố được duyệt phiếu khảo sát. "
        "Nếu bạn cần duyệt, hãy nhờ quản trị thành phố cấp vai trò.",
        "en": "Only ward leaders and city admins review surveys. "
        "Ask your city admin for the role if you need it.",
    },
    "page.review_not_found_title": {"vi": "Không tìm thấy phường/xã", "en": "Ward not found"},
    "page.review_not_found": {
        "vi": "Không có phường/xã này trong danh sách bạn được duyệt.",
        "en": "This ward is not among those you review.",
    },
    "page.review_no_wards_title": {"vi": "Chưa có phường/xã", "en": "No ward yet"},
    "page.review_no_wards": {
        "vi": "Bạn chưa được giao phường/xã nào để duyệt.",
        "en": "No ward has been given to you to review yet.",
    },
    "page.review_loading": {"vi": "Đang tải…", "en": "Loading…"},
    "page.review_empty": {
        "vi": "Không còn phiếu nào chờ duyệt ở phường này.",
        "en": "No survey is waiting for review in this ward.",
    },
    "page.review_waiting_count": {"vi": "{n} phiếu", "en": "{n} surveys"},
    "page.review_load_more": {"vi": "Xem thêm phiếu", "en": "Show more surveys"},
    "page.review_collected": {"vi": "Thời điểm khảo sát", "en": "Collected"},
    "page.review_collector": {"vi": "Người khảo sát", "en": "Collector"},
    "page.review_settlement": {"vi": "Khu dân cư", "en": "Settlement"},
    "page.review_no_settlement": {"vi": "Ngoài các khu dân cư", "en": "Outside any settlement"},
    "page.review_head": {"vi": "Chủ hộ", "en": "Head of household"},
    "page.review_no_name": {"vi": "(không có tên)", "en": "(no name)"},
    "page.review_comment": {
        "vi": "Nhận xét cho tình nguyện viên (bắt buộc khi trả lại hoặc từ chối)",
        "en": "Comment for the volunteer (required to send back or reject)",
    },
    "page.review_approve": {"vi": "Duyệt", "en": "Approve"},
    "page.review_send_back": {"vi": "Trả lại để sửa", "en": "Send back"},
    "page.review_reject": {"vi": "Từ chối", "en": "Reject"},
    "page.review_done_approved": {"vi": "Đã duyệt", "en": "Approved"},
    "page.review_done_needs_correction": {"vi": "Đã trả lại để sửa", "en": "Sent back"},
    "page.review_done_rejected": {"vi": "Đã từ chối", "en": "Rejected"},
    "page.review_change": {"vi": "Đổi quyết định", "en": "Change decision"},
    "page.review_current": {
        "vi": "Quyết định hiện tại: {decision}. Chọn quyết định khác, hoặc giữ nguyên.",
        "en": "Current decision: {decision}. Choose another one, or keep it.",
    },
    "page.review_keep": {"vi": "Giữ nguyên", "en": "Keep it"},
    "page.review_network_error": {
        "vi": "Không kết nối được máy chủ. Kiểm tra mạng rồi thử lại.",
        "en": "Could not reach the server. Check the connection and try again.",
    },
    "page.review_error": {
        "vi": "Máy chủ báo lỗi ({status}). Hãy thử lại sau.",
        "en": "The server answered with an error ({status}). Try again later.",
    },
    "page.review_retry": {"vi": "Thử lại", "en": "Try again"},
    "page.review_signed_out": {
        "vi": "Phiên đăng nhập đã hết hạn. Hãy tải lại trang để đăng nhập lại.",
        "en": "Your session has ended. Reload the page to sign in again.",
    },
    "page.review_bulk_button": {
        "vi": "Duyệt {n} phiếu không có cảnh báo",
        "en": "Approve {n} surveys without flags",
    },
    "page.review_bulk_waiting": {
        "vi": "{received} phiếu chờ duyệt, {unflagged} phiếu không có cảnh báo",
        "en": "{received} waiting, {unflagged} without flags",
    },
    "page.review_bulk_confirm": {
        "vi": "Duyệt {n} phiếu không có cảnh báo của khu dân cư {settlement}? "
        "Phiếu có cảnh báo vẫn ở lại để xem kỹ.",
        "en": "Approve the {n} surveys without flags of settlement {settlement}? "
        "Flagged surveys stay for a closer look.",
    },
    "page.review_bulk_done": {
        "vi": "Đã duyệt {n} phiếu của khu dân cư {settlement}.",
        "en": "Approved {n} surveys of settlement {settlement}.",
    },
    "page.review_bulk_none": {
        "vi": "Không có khu dân cư nào còn phiếu chờ duyệt.",
        "en": "No settlement has surveys waiting for review.",
    },
    "page.review_outside_settlements": {
        "vi": "{n} phiếu chờ duyệt nằm ngoài các khu dân cư: hãy duyệt từng phiếu.",
        "en": "{n} waiting surveys lie outside any settlement: review them one by one.",
    },
    "page.review_gps": {"vi": "GPS ±{m} m", "en": "GPS ±{m} m"},
    "page.review_show_on_map": {"vi": "Xem trên bản đồ", "en": "Show on the map"},
    "page.review_flags": {"vi": "Cảnh báo", "en": "Flags"},
    "page.review_no_volunteers": {
        "vi": "Chưa có phiếu nào ở phường này.",
        "en": "No survey in this ward yet.",
    },
    "page.flag.low_gps_accuracy": {"vi": "GPS kém chính xác", "en": "Low GPS accuracy"},
    "page.flag.outside_wards": {
        "vi": "Ngoài ranh giới các phường/xã",
        "en": "Outside every ward",
    },
    "page.flag.outside_cities": {"vi": "Ngoài các thành phố", "en": "Outside every city"},
    "page.flag.clock_skew": {"vi": "Đồng hồ điện thoại bị lệch", "en": "Phone clock was off"},
    "page.flag.possible_duplicate": {"vi": "Có thể trùng hộ", "en": "Possible duplicate"},
    "page.flag.contradiction": {"vi": "Câu trả lời mâu thuẫn", "en": "Contradictory answers"},
    "page.flag.late_upload": {"vi": "Gửi lên muộn", "en": "Sent late"},
    "page.flag.outside_assigned_ward": {
        "vi": "Ngoài phường được giao",
        "en": "Outside the assigned ward",
    },
    # Hardening: input no survey may hold, requests no page may make
    "too_deep": {
        "vi": "Dữ liệu lồng nhau quá sâu (tối đa {max} cấp).",
        "en": "Nested too deeply (at most {max} levels).",
    },
    "too_many_values": {
        "vi": "Quá nhiều giá trị trong một phiếu (tối đa {max}).",
        "en": "Too many values in one survey (at most {max}).",
    },
    "invalid_unicode": {
        "vi": "Có ký tự không hợp lệ (mã Unicode lỗi) trong câu trả lời.",
        "en": "The answer contains an invalid character (broken Unicode).",
    },
    "json_required": {
        "vi": "Nội dung gửi lên phải là JSON (Content-Type: application/json).",
        "en": "The request body must be JSON (Content-Type: application/json).",
    },
    "cross_origin": {
        "vi": "Yêu cầu từ trang web khác bị từ chối.",
        "en": "Requests from another website are refused.",
    },
    "invalid_status": {
        "vi": "Trạng thái '{value}' không hợp lệ. Chọn một trong: {allowed}.",
        "en": "'{value}' is not a status. Choose one of: {allowed}.",
    },
    "attachment_not_in_survey": {
        "vi": "Phiếu không có ảnh tên '{filename}'. Chỉ gửi được ảnh mà phiếu đã ghi.",
        "en": "The survey has no photo named '{filename}'. "
        "Only the photos a survey names can be sent.",
    },
    "too_many_attachments": {
        "vi": "Phiếu đã có đủ {max} ảnh; không nhận thêm.",
        "en": "The survey already has its {max} photos; no more are accepted.",
    },
    "attachments_too_large": {
        "vi": "Tổng dung lượng ảnh của phiếu vượt quá {max_mb} MB.",
        "en": "The survey's photos would exceed {max_mb} MB in total.",
    },
    # The printed ward map (app/geo/print_map.py)
    "print_map.title": {"vi": "{ward}, {city}", "en": "{ward}, {city}"},
    "print_map.subtitle": {
        "vi": "Bản đồ nâng cấp khu dân cư · {indicator} · số liệu đến ngày {date}",
        "en": "Settlement upgrading map · {indicator} · data as of {date}",
    },
    "print_map.priority": {"vi": "Điểm ưu tiên nâng cấp", "en": "Upgrading priority score"},
    "print_map.priority_legend": {"vi": "Điểm ưu tiên (0-100)", "en": "Priority score (0-100)"},
    "print_map.share_legend": {"vi": "% hộ: {label}", "en": "% households: {label}"},
    "print_map.no_data": {"vi": "Chưa có khảo sát", "en": "Not surveyed yet"},
    "print_map.no_answer": {"vi": "Không trả lời", "en": "No answer"},
    "print_map.households": {"vi": "Hộ gia đình đã khảo sát", "en": "Surveyed households"},
    "print_map.households_by": {"vi": "Hộ gia đình: {label}", "en": "Households: {label}"},
    "print_map.ward_boundary": {"vi": "Ranh giới phường", "en": "Ward boundary"},
    "print_map.table_title": {
        "vi": "Khu dân cư xếp theo điểm ưu tiên (% hộ thiếu từng điều kiện)",
        "en": "Settlements ranked by priority (% of households lacking each)",
    },
    "print_map.rank": {"vi": "Hạng", "en": "Rank"},
    "print_map.settlement": {"vi": "Khu dân cư", "en": "Settlement"},
    "print_map.hh": {"vi": "Số hộ", "en": "HH"},
    "print_map.score": {"vi": "Điểm", "en": "Score"},
    "print_map.more": {
        "vi": "… và {count} khu dân cư khác",
        "en": "… and {count} more settlements",
    },
    "print_map.notes": {"vi": "Ghi chú", "en": "Notes"},
    "print_map.source": {
        "vi": "Nguồn: khảo sát hộ gia đình do cộng đồng thực hiện (CDF map), {households} hộ; "
        "số liệu đến ngày {date}; in ngày {today}.",
        "en": "Source: community household survey (CDF map), {households} households; "
        "data as of {date}; printed {today}.",
    },
    "print_map.formula": {
        "vi": "Điểm ưu tiên = 100 × Σ(trọng số × tỷ lệ hộ thiếu) / Σ trọng số. "
        "Điểm chỉ hỗ trợ thảo luận, không tự quyết định.",
        "en": "Priority score = 100 × Σ(weight × share lacking) / Σ weights. "
        "The score supports a discussion; it never decides alone.",
    },
    "print_map.no_date": {"vi": "chưa có", "en": "none yet"},
    "print_map.north": {"vi": "B", "en": "N"},
    # The interactive map pages (app/geo/web_map.py)
    "web_map.wards": {"vi": "Ranh giới phường/xã", "en": "Ward boundaries"},
    "web_map.settlements": {
        "vi": "Khu dân cư theo điểm ưu tiên",
        "en": "Settlements by priority score",
    },
    "web_map.households": {"vi": "Hộ gia đình", "en": "Households"},
    "web_map.basemap": {"vi": "Nền bản đồ", "en": "Background map"},
    "web_map.priority": {
        "vi": "Điểm ưu tiên nâng cấp (0-100)",
        "en": "Upgrading priority score (0-100)",
    },
    "web_map.no_data": {"vi": "Chưa có khảo sát", "en": "Not surveyed yet"},
    "web_map.no_answer": {"vi": "Không trả lời", "en": "No answer"},
    "web_map.no_settlements": {
        "vi": "Chưa có khu dân cư nào được vẽ ở khu vực này.",
        "en": "No settlement has been mapped in this area yet.",
    },
    "web_map.note": {
        "vi": "Điểm ưu tiên chỉ hỗ trợ thảo luận với cộng đồng; xem tỷ lệ từng chỉ số "
        "trong cửa sổ thông tin của khu dân cư.",
        "en": "The score supports a community discussion; click a settlement for the share "
        "of households with each deficiency.",
    },
    # Titles and popups of the map pages (app/services/maps.py)
    "map_page.city_title": {
        "vi": "Bản đồ nâng cấp khu dân cư: {city}",
        "en": "Settlement upgrading map: {city}",
    },
    "map_page.ward_title": {
        "vi": "Bản đồ nâng cấp khu dân cư: {ward}, {city}",
        "en": "Settlement upgrading map: {ward}, {city}",
    },
    "map_page.subtitle": {
        "vi": "{households} hộ đã khảo sát · số liệu đến ngày {date}",
        "en": "{households} households surveyed · data as of {date}",
    },
    "map_page.no_date": {"vi": "chưa có", "en": "none yet"},
    "map_page.name": {"vi": "Khu dân cư", "en": "Settlement"},
    "map_page.ward": {"vi": "Phường/xã", "en": "Ward"},
    "map_page.households": {"vi": "Số hộ đã khảo sát", "en": "Households surveyed"},
    "map_page.score": {"vi": "Điểm ưu tiên", "en": "Priority score"},
    "map_page.rank_in_ward": {"vi": "Hạng trong phường", "en": "Rank in ward"},
    "map_page.rank_in_city": {"vi": "Hạng trong thành phố", "en": "Rank in city"},
    "map_page.not_found": {"vi": "Không tìm thấy bản đồ", "en": "Map not found"},
    "prints_busy": {
        "vi": "Máy chủ đang in nhiều bản đồ cùng lúc. Hãy thử lại sau ít giây.",
        "en": "The server is printing many maps at once. Try again in a few seconds.",
    },
}


# What a `wrong_type` problem expected, by the name intake gives it.
TYPE_NAMES: dict[str, dict[str, str]] = {
    "number": {"vi": "một số", "en": "a number"},
    "text": {"vi": "chữ", "en": "text"},
    "object": {"vi": "một đối tượng JSON {…}", "en": "a JSON object {…}"},
    "list": {"vi": "một danh sách […]", "en": "a list […]"},
}


def pick_language(requested: str | None) -> str:
    """Choose vi or en from a ?lang= value or an Accept-Language header."""
    if not requested:
        return DEFAULT_LANGUAGE
    for part in requested.split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


def translate(code: str, language: str = DEFAULT_LANGUAGE, **params: Any) -> str:
    """The message for `code` in `language`, formatted with params."""
    texts = MESSAGES.get(code)
    if texts is None:
        return code
    text = texts.get(language) or texts[DEFAULT_LANGUAGE]
    expected = params.get("expected")
    if type(expected) is str and expected in TYPE_NAMES:
        params = {**params, "expected": TYPE_NAMES[expected][language]}
    try:
        return text.format(**params)
    except (KeyError, IndexError):
        return text
